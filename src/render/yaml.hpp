// YAML documents written from ordered JSON values (export kube, export compose):
// the documents are built as plain data, and yaml-cpp only writes them out.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace mldeploy::render {

using Doc = nlohmann::ordered_json;

// One YAML document. Strings that a YAML 1.1 or 1.2 reader would take for
// something else (a number, a boolean, null: "5000", "no", "") are quoted;
// text over several lines becomes a literal block.
std::string to_yaml(const Doc& doc);

// Several documents, each after a "---" line (what `kubectl apply -f` reads).
std::string to_yaml_stream(const std::vector<Doc>& docs);

// True when `text`, written plain, would not read back as this string.
bool needs_yaml_quotes(std::string_view text);

}  // namespace mldeploy::render
