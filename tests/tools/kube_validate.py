#!/usr/bin/python3
"""Checks Kubernetes YAML offline against the API's own model classes.

Usage: kube_validate.py FILE [FILE...]   (- reads stdin)

Every document is read into the model class of its apiVersion and kind
(Debian's python3-kubernetes: the API 1.22 models, with `openapi_types` and
`attribute_map` for every field). Fails (exit 1) on an unknown kind, an unknown
field, a wrong type (a number where a string belongs, a map where a list
belongs...) or a required field left out, naming the document and the field's
path. No cluster is needed: kubectl wants a server even for --dry-run=client.
"""
import re
import sys

import yaml
import kubernetes.client as models
from kubernetes.client import ApiClient

# Types the API accepts in more than one form: IntOrString, Quantity, raw JSON.
ANY = {"object"}


def check(value, type_name, path, errors):
    if value is None:
        return
    if type_name in ANY:
        if not isinstance(value, (str, int, float, dict, list)) or isinstance(value, bool):
            errors.append(f"{path}: expected a string or a number, got {value!r}")
        return
    if type_name == "str":
        if not isinstance(value, str):
            errors.append(f"{path}: expected a string, got {type(value).__name__} {value!r}")
        return
    if type_name == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}: expected an integer, got {type(value).__name__} {value!r}")
        return
    if type_name == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errors.append(f"{path}: expected a number, got {value!r}")
        return
    if type_name == "bool":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected true or false, got {value!r}")
        return
    if type_name in ("datetime", "date"):
        if not isinstance(value, str):
            errors.append(f"{path}: expected a date string, got {value!r}")
        return
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            check(item, m.group(1), f"{path}[{i}]", errors)
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if m:
        if not isinstance(value, dict):
            errors.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        for k, item in value.items():
            if not isinstance(k, str):
                errors.append(f"{path}: key {k!r} is not a string")
            check(item, m.group(1), f"{path}.{k}", errors)
        return
    cls = getattr(models, type_name, None)
    if cls is None:
        errors.append(f"{path}: the validator does not know the type {type_name}")
        return
    if not isinstance(value, dict):
        errors.append(f"{path}: expected a map ({type_name}), got {type(value).__name__}")
        return
    by_key = {key: attr for attr, key in cls.attribute_map.items()}
    for key, item in value.items():
        attr = by_key.get(key)
        if attr is None:
            errors.append(f"{path}.{key}: unknown field of {type_name}")
            continue
        check(item, cls.openapi_types[attr], f"{path}.{key}", errors)


def model_name(doc):
    version = str(doc.get("apiVersion", "")).split("/")[-1]
    return version[:1].upper() + version[1:] + str(doc.get("kind", ""))


def validate(doc, where):
    errors = []
    if not isinstance(doc, dict):
        return [f"{where}: not a map"]
    name = model_name(doc)
    if getattr(models, name, None) is None:
        return [f"{where}: unknown apiVersion/kind {doc.get('apiVersion')}/{doc.get('kind')}"]
    label = f"{where} {doc.get('kind')} {doc.get('metadata', {}).get('name', '?')}"
    check(doc, name, label, errors)
    if not errors:
        # The models' setters refuse a required field left out.
        try:
            ApiClient()._ApiClient__deserialize(doc, name)
        except (ValueError, TypeError) as e:
            errors.append(f"{label}: {e}")
    return errors


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    errors, count = [], 0
    for path in argv[1:]:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        for i, doc in enumerate(yaml.safe_load_all(text)):
            if doc is None:
                continue
            count += 1
            errors += validate(doc, f"{path}#{i + 1}")
    for e in errors:
        print(f"kube_validate: {e}", file=sys.stderr)
    if count == 0:
        print("kube_validate: no documents", file=sys.stderr)
        return 1
    print(f"kube_validate: {count} documents, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
