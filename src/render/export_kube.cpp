#include "render/export_kube.hpp"

#include "render/nginx.hpp"
#include "stack/serialize.hpp"
#include "util/base64.hpp"
#include "util/hash.hpp"
#include "util/image_ref.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace mldeploy::render {
namespace {

// What one container of the stack runs: a model service's replicas now, and
// any other run-to-completion kind later (a Job's pod template is built from
// the same fields with pod_spec()).
struct Workload {
    std::string name;       // the stack's name for it (service, job)
    std::string component;  // app.kubernetes.io/component and io.mldeploy.role
    std::string image;
    std::vector<std::string> command;
    std::map<std::string, std::string> env;
    std::vector<stack::Volume> volumes;
    stack::Resources resources;
};

Workload workload_of(const stack::Service& s) {
    return {s.name, "model", s.image, s.command, s.env, s.volumes, s.resources};
}

Workload workload_of(const stack::Job& j) { return {j.name, "job", j.image, j.command, j.env, j.volumes, j.resources}; }

struct Context {
    const stack::Stack& stack;
    const KubeOptions& options;
    std::vector<std::string>& warnings;
    // Secret key -> value, for env values that look secret (one Secret per stack).
    std::map<std::string, std::string> secret_data;
};

std::string dns_label(std::string text) {
    std::replace(text.begin(), text.end(), '_', '-');
    if (text.empty() || !std::isalpha(static_cast<unsigned char>(text.front()))) text = "s-" + text;
    if (text.size() > 63) text.resize(63);
    while (text.ends_with('-')) text.pop_back();
    return text;
}

Doc metadata(const Context& c, const std::string& name, const Doc& labels) {
    Doc m = {{"name", name}};
    if (!c.options.ns.empty()) m["namespace"] = c.options.ns;
    m["labels"] = labels;
    return m;
}

// The labels that select a component's pods (a Deployment's selector, its Service's).
Doc selector_labels(const stack::Stack& stack, const std::string& name, const std::string& component) {
    return {{"app.kubernetes.io/name", name},
            {"app.kubernetes.io/instance", stack.name},
            {"app.kubernetes.io/component", component}};
}

Doc all_labels(const stack::Stack& stack, const std::string& name, const std::string& component) {
    auto labels = selector_labels(stack, name, component);
    labels["app.kubernetes.io/managed-by"] = "mldeploy";
    labels["io.mldeploy.stack"] = stack.name;
    labels["io.mldeploy.role"] = component;
    if (component == "model") labels["io.mldeploy.service"] = name;
    if (component == "job") labels["io.mldeploy.job"] = name;
    return labels;
}

std::string memory_quantity(std::int64_t bytes) {
    for (const auto& [unit, size] :
         {std::pair{"Gi", 1LL << 30}, std::pair{"Mi", 1LL << 20}, std::pair{"Ki", 1LL << 10}})
        if (bytes % size == 0) return fmt::format("{}{}", bytes / size, unit);
    return std::to_string(bytes);
}

std::string cpu_quantity(double cpus) { return fmt::format("{}m", std::llround(cpus * 1000)); }

std::int64_t whole_seconds(stack::Millis d) { return std::max<std::int64_t>(1, (d.count() + 999) / 1000); }

// No registry host in the name ("nginx:1", "localhost/a:1"): only this engine has it.
bool only_local(const std::string& image) { return !util::registry_of(image); }

void warn_local_image(Context& c, const std::string& who, const std::string& image) {
    if (!only_local(image)) return;
    c.warnings.push_back(
        fmt::format("{}: image {} names no registry a cluster can pull from; push it to one (`mldeploy push`) and set "
                    "`image` to that name",
                    who, image));
}

Doc resources_of(Context& c, const Workload& w) {
    Doc limits = Doc::object();
    if (w.resources.cpus) limits["cpu"] = cpu_quantity(*w.resources.cpus);
    if (w.resources.memory_bytes) limits["memory"] = memory_quantity(*w.resources.memory_bytes);
    Doc requests = limits;  // what mldeploy reserves is what it limits
    if (w.resources.gpus) {
        auto count = *w.resources.gpus;
        if (count == "all") {
            count = "1";
            c.warnings.push_back(fmt::format(
                "{}: gpus = \"all\" has no Kubernetes equivalent; each replica asks for 1 nvidia.com/gpu (edit "
                "the limit for more)",
                w.name));
        }
        limits["nvidia.com/gpu"] = count;  // a quantity: the API models it as a string
    }
    Doc r = Doc::object();
    if (!limits.empty()) r["limits"] = limits;
    if (!requests.empty()) r["requests"] = requests;
    return r;
}

Doc env_of(Context& c, const Workload& w) {
    Doc env = Doc::array();
    for (const auto& [key, value] : w.env) {
        if (stack::looks_secret(key) || stack::value_looks_secret(value)) {
            const auto secret_key = w.name + "." + key;
            c.secret_data[secret_key] = value;
            env.push_back(
                {{"name", key},
                 {"valueFrom", {{"secretKeyRef", {{"name", kube_name(c.stack, "env")}, {"key", secret_key}}}}}});
        } else {
            env.push_back({{"name", key}, {"value", value}});
        }
    }
    return env;
}

std::string claim_name(const stack::Volume& v) { return dns_label(v.source); }

// The pod of a workload: one container, its named volumes as claims.
Doc pod_spec(Context& c, const Workload& w, const Doc& container_extra) {
    Doc container = {{"name", dns_label(w.name)}, {"image", w.image}};
    if (!w.command.empty()) container["command"] = w.command;
    if (auto env = env_of(c, w); !env.empty()) container["env"] = env;
    if (auto r = resources_of(c, w); !r.empty()) container["resources"] = r;
    for (const auto& [key, value] : container_extra.items()) container[key] = value;

    Doc mounts = Doc::array();
    Doc volumes = Doc::array();
    std::set<std::string> claimed;
    for (const auto& v : w.volumes) {
        if (v.is_bind) {
            c.warnings.push_back(fmt::format(
                "{}: the bind mount {}:{} does not travel to a cluster and is left out; put the files in the "
                "image, or in a named volume (it becomes a PersistentVolumeClaim) and copy them there",
                w.name, v.source, v.target));
            continue;
        }
        const auto claim = claim_name(v);
        Doc mount = {{"name", claim}, {"mountPath", v.target}};
        if (v.options == "ro") mount["readOnly"] = true;
        mounts.push_back(mount);
        if (claimed.insert(claim).second)
            volumes.push_back({{"name", claim}, {"persistentVolumeClaim", {{"claimName", claim}}}});
    }
    if (!mounts.empty()) container["volumeMounts"] = mounts;
    Doc spec = {{"containers", Doc::array({container})}};
    if (!volumes.empty()) spec["volumes"] = volumes;
    return spec;
}

Doc readiness_probe(const stack::Service& s) {
    if (!s.health) return {{"tcpSocket", {{"port", s.port}}}, {"periodSeconds", 2}};
    const auto& h = *s.health;
    return {{"httpGet", {{"path", h.path}, {"port", s.port}}},
            {"initialDelaySeconds", h.start_period.count() / 1000},
            {"periodSeconds", whole_seconds(h.interval)},
            {"timeoutSeconds", whole_seconds(h.timeout)},
            {"failureThreshold", h.retries}};
}

Doc deployment(Context& c, const std::string& name, const Doc& labels, const Doc& selector, int replicas,
               const Doc& pod, const Doc& pod_annotations) {
    Doc template_meta = {{"labels", labels}};
    if (!pod_annotations.empty()) template_meta["annotations"] = pod_annotations;
    return {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", metadata(c, name, labels)},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", selector}}},
              // A new pod must be ready before an old one goes: mldeploy's rolling update.
              {"strategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 0}, {"maxSurge", 1}}}}},
              {"template", {{"metadata", template_meta}, {"spec", pod}}}}}};
}

Doc service_object(Context& c, const std::string& name, const Doc& labels, const Doc& selector, const Doc& ports,
                   const std::string& type) {
    return {{"apiVersion", "v1"},
            {"kind", "Service"},
            {"metadata", metadata(c, name, labels)},
            {"spec", {{"type", type}, {"selector", selector}, {"ports", ports}}}};
}

// ---- one function per kind of object ----------------------------------------

std::vector<Doc> model_service_docs(Context& c, const stack::Service& s) {
    const auto name = kube_name(c.stack, s.name);
    const auto labels = all_labels(c.stack, s.name, "model");
    const auto selector = selector_labels(c.stack, s.name, "model");
    const auto w = workload_of(s);
    warn_local_image(c, "service " + s.name, s.image);
    Doc extra = {{"ports", Doc::array({{{"name", "http"}, {"containerPort", s.port}}})},
                 {"readinessProbe", readiness_probe(s)}};
    auto pod = pod_spec(c, w, extra);
    // mldeploy lets requests in flight end before a replica is stopped.
    pod["terminationGracePeriodSeconds"] = whole_seconds(c.stack.drain_of(s));
    return {deployment(c, name, labels, selector, s.replicas, pod, Doc::object()),
            service_object(c, name, labels, selector,
                           Doc::array({{{"name", "http"}, {"port", s.port}, {"targetPort", s.port}}}), "ClusterIP")};
}

std::string balancer_config(const Context& c) {
    // The model Services' names, resolved when nginx starts: a Service's
    // address does not change while its pods come and go.
    ReplicaAddresses upstreams;
    for (const auto& s : c.stack.services) {
        auto host = kube_name(c.stack, s.name);
        if (!c.options.ns.empty()) host += "." + c.options.ns;
        if (s.replicas > 0) upstreams[s.name] = {fmt::format("{}:{}", host, s.port)};
    }
    return render_nginx_config(c.stack, upstreams);
}

std::vector<Doc> balancer_docs(Context& c) {
    const auto name = kube_name(c.stack, "balancer");
    const auto labels = all_labels(c.stack, "balancer", "balancer");
    const auto selector = selector_labels(c.stack, "balancer", "balancer");
    const auto config = balancer_config(c);
    warn_local_image(c, "balancer", c.stack.balancer.image);

    Doc configmap = {{"apiVersion", "v1"},
                     {"kind", "ConfigMap"},
                     {"metadata", metadata(c, name, labels)},
                     {"data", {{"nginx.conf", config}}}};
    Doc container = {
        {"name", "nginx"},
        {"image", c.stack.balancer.image},
        {"command", {"nginx", "-c", kBalancerConfigPath, "-g", "daemon off;"}},
        {"ports", Doc::array({{{"name", "http"}, {"containerPort", kBalancerListenPort}}})},
        {"readinessProbe",
         {{"httpGet", {{"path", "/_mldeploy/health"}, {"port", kBalancerListenPort}}}, {"periodSeconds", 2}}},
        {"volumeMounts", Doc::array({{{"name", "config"}, {"mountPath", kBalancerConfigDir}, {"readOnly", true}}})}};
    Doc pod = {{"containers", Doc::array({container})},
               {"volumes", Doc::array({{{"name", "config"}, {"configMap", {{"name", name}}}}})},
               {"terminationGracePeriodSeconds", whole_seconds(c.stack.balancer.timeout)}};
    // A new config is a new pod template, so `kubectl apply` rolls the balancer.
    Doc annotations = {{"io.mldeploy.config-hash", util::fnv1a_hex(config)}};

    Doc port = {{"name", "http"}, {"port", c.stack.balancer.port}, {"targetPort", kBalancerListenPort}};
    if (c.options.node_port) {
        if (c.stack.balancer.port >= 30000 && c.stack.balancer.port <= 32767)
            port["nodePort"] = c.stack.balancer.port;
        else
            c.warnings.push_back(fmt::format(
                "balancer: port {} is outside Kubernetes' node ports (30000-32767); the cluster picks the node port",
                c.stack.balancer.port));
    }
    if (c.stack.balancer.host_ip != "0.0.0.0")
        c.warnings.push_back(
            fmt::format("balancer: host_ip {} does not carry over; the Service listens on the "
                        "addresses its type gives it",
                        c.stack.balancer.host_ip));
    return {configmap, deployment(c, name, labels, selector, 1, pod, annotations),
            service_object(c, name, labels, selector, Doc::array({port}),
                           c.options.node_port ? "NodePort" : "LoadBalancer")};
}

// A job runs once (`mldeploy run`): a Job that is not retried, stopped past its timeout.
Doc job_doc(Context& c, const stack::Job& j) {
    const auto labels = all_labels(c.stack, j.name, "job");
    warn_local_image(c, "job " + j.name, j.image);
    auto pod = pod_spec(c, workload_of(j), Doc::object());
    pod["restartPolicy"] = "Never";
    Doc spec = {{"backoffLimit", 0}, {"template", {{"metadata", {{"labels", labels}}}, {"spec", pod}}}};
    if (j.timeout) spec["activeDeadlineSeconds"] = whole_seconds(*j.timeout);
    return {{"apiVersion", "batch/v1"},
            {"kind", "Job"},
            {"metadata", metadata(c, kube_name(c.stack, "job-" + j.name), labels)},
            {"spec", spec}};
}

std::vector<Doc> claim_docs(Context& c) {
    std::vector<Doc> docs;
    std::set<std::string> seen;
    std::vector<stack::Volume> all;
    for (const auto& s : c.stack.services) all.insert(all.end(), s.volumes.begin(), s.volumes.end());
    for (const auto& j : c.stack.jobs) all.insert(all.end(), j.volumes.begin(), j.volumes.end());
    for (const auto& v : all) {
        if (v.is_bind || !seen.insert(claim_name(v)).second) continue;
        const auto labels = all_labels(c.stack, claim_name(v), "volume");
        docs.push_back(
            {{"apiVersion", "v1"},
             {"kind", "PersistentVolumeClaim"},
             {"metadata", metadata(c, claim_name(v), labels)},
             {"spec",
              {{"accessModes", Doc::array({"ReadWriteOnce"})}, {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}});
    }
    return docs;
}

Doc secret_doc(const Context& c) {
    Doc data = Doc::object();
    for (const auto& [key, value] : c.secret_data) data[key] = util::base64_encode(value);
    return {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", metadata(c, kube_name(c.stack, "env"), all_labels(c.stack, "env", "secret"))},
            {"type", "Opaque"},
            {"data", data}};
}

}  // namespace

std::string kube_name(const stack::Stack& stack, const std::string& part) { return dns_label(stack.name + "-" + part); }

KubeExport export_kube(const stack::Stack& stack, const KubeOptions& options) {
    KubeExport out;
    Context c{stack, options, out.warnings, {}};
    std::vector<Doc> workloads;
    for (const auto& s : stack.services)
        for (auto& d : model_service_docs(c, s)) workloads.push_back(std::move(d));
    for (const auto& j : stack.jobs) workloads.push_back(job_doc(c, j));
    // The objects pods need come first: kubectl applies in file order.
    if (!c.secret_data.empty()) out.documents.push_back(secret_doc(c));
    for (auto& d : claim_docs(c)) out.documents.push_back(std::move(d));
    for (auto& d : workloads) out.documents.push_back(std::move(d));
    for (auto& d : balancer_docs(c)) out.documents.push_back(std::move(d));
    return out;
}

}  // namespace mldeploy::render
