// `mldeploy export kube`: the stack as Kubernetes objects for `kubectl apply -f`.
// Pure: a stack in, YAML text and warnings out; nothing is read or written.
#pragma once

#include "render/yaml.hpp"
#include "stack/model.hpp"

#include <string>
#include <vector>

namespace mldeploy::render {

struct KubeOptions {
    std::string ns;          // metadata.namespace of every object; empty: none (kubectl's current one)
    bool node_port = false;  // the balancer's Service as NodePort instead of LoadBalancer
};

struct KubeExport {
    std::vector<Doc> documents;         // in the order `kubectl apply` creates them
    std::vector<std::string> warnings;  // what does not carry over, and what to do
    std::string text() const { return to_yaml_stream(documents); }
};

KubeExport export_kube(const stack::Stack& stack, const KubeOptions& options);

// The name of a stack's object of `part` ("recommender", "balancer"): a DNS-1035
// label, as Services need ('_' becomes '-', at most 63 characters).
std::string kube_name(const stack::Stack& stack, const std::string& part);

}  // namespace mldeploy::render
