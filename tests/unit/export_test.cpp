// export kube / export compose: the full text against golden files in
// data/golden/ (from the stacks in data/export/), and the rules on their own.
// Regenerate after an intended change: MLDEPLOY_UPDATE_GOLDEN=1 unit_tests -ts=export
// (then review `git diff tests/unit/data/golden`). The kube goldens are also
// checked against Kubernetes' API models (tests/tools/kube_validate.py, in the
// e2e export test) and the compose golden with docker-compose there.
#include "render/export_compose.hpp"
#include "render/export_kube.hpp"
#include "render/yaml.hpp"
#include "stack/load.hpp"

#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace mldeploy;
namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(MLDEPLOY_TEST_DATA);

stack::Stack load(const std::string& name) {
    return stack::load_stack_file(kData / "export" / name,
                                  [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void check_golden(const std::string& golden, const std::string& text) {
    const auto path = kData / "golden" / golden;
    if (const char* v = std::getenv("MLDEPLOY_UPDATE_GOLDEN"); v != nullptr && std::string(v) == "1") {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
        MESSAGE("updated golden " << path.string());
        return;
    }
    REQUIRE_MESSAGE(fs::exists(path),
                    "missing golden " << path.string() << "; create it with MLDEPLOY_UPDATE_GOLDEN=1");
    const auto expected = read_text(path);
    if (expected == text) return;
    const auto actual = fs::temp_directory_path() / ("mldeploy-golden-actual-" + golden);
    std::ofstream(actual, std::ios::binary | std::ios::trunc) << text;
    FAIL_CHECK("export differs from golden " << golden << ": diff -u " << path.string() << " " << actual.string());
}

const YAML::Node* find_kind(const std::vector<YAML::Node>& docs, const std::string& kind, const std::string& name) {
    for (const auto& d : docs)
        if (d["kind"].as<std::string>() == kind && d["metadata"]["name"].as<std::string>() == name) return &d;
    return nullptr;
}

bool has(const std::vector<std::string>& warnings, const std::string& part) {
    for (const auto& w : warnings)
        if (w.find(part) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_SUITE("export") {
    TEST_CASE("the documents match the golden files") {
        for (const auto& name : {"full", "minimal"}) {
            CAPTURE(name);
            const auto stack = load(std::string(name) + ".toml");
            check_golden(std::string("export-") + name + ".kube.yaml", render::export_kube(stack, {}).text());
            check_golden(std::string("export-") + name + ".ns-nodeport.kube.yaml",
                         render::export_kube(stack, {"ml", true}).text());
            check_golden(std::string("export-") + name + ".compose.yaml",
                         render::export_compose(stack, {kData / "export"}).text());
        }
    }

    TEST_CASE("yaml: strings that read back as something else are quoted") {
        for (const auto* s :
             {"5000", "no", "yes", "on", "true", "null", "~", "", "1.5", "1e3", "0x1f", "1:20", ".inf"}) {
            CAPTURE(s);
            CHECK(render::needs_yaml_quotes(s));
            const auto text = render::to_yaml(render::Doc{{"v", s}});
            CHECK(YAML::Load(text)["v"].Tag() == "!");  // a quoted scalar: a string
            CHECK(YAML::Load(text)["v"].as<std::string>() == s);
        }
        for (const auto* s : {"nginx", "/healthz", "postgres://u:pw@db/x", "8000/tcp", "localhost/a:1"})
            CHECK_FALSE(render::needs_yaml_quotes(s));
        // Whatever a value holds, it reads back as written.
        for (const auto* s :
             {"*x",   "&a", "!t", "- a", "a: b", "#c", "{x}", "[y]",  "@y",     "`z",      "%p",
              "a #b", "x:", "'q", "\"d", "? k",  "|",  ">",   "a\tb", "  lead", "trail  ", "line\n  indented \n"}) {
            CAPTURE(s);
            CHECK(YAML::Load(render::to_yaml(render::Doc{{"v", s}}))["v"].as<std::string>() == s);
        }
        const auto text = render::to_yaml(render::Doc{{"conf", "a {\n    b;\n}\n"}});
        CHECK(text == "conf: |\n  a {\n      b;\n  }\n");
    }

    TEST_CASE("kube: a Deployment and a ClusterIP Service per model service, the balancer with its ConfigMap") {
        const auto stack = load("full.toml");
        const auto e = render::export_kube(stack, {});
        std::vector<YAML::Node> docs = YAML::LoadAll(e.text());
        REQUIRE(docs.size() == e.documents.size());

        const auto* recs = find_kind(docs, "Deployment", "shop-recs");
        REQUIRE(recs != nullptr);
        const auto spec = (*recs)["spec"];
        CHECK(spec["replicas"].as<int>() == 3);
        CHECK(spec["strategy"]["rollingUpdate"]["maxUnavailable"].as<int>() == 0);
        CHECK(spec["strategy"]["rollingUpdate"]["maxSurge"].as<int>() == 1);
        const auto container = spec["template"]["spec"]["containers"][0];
        CHECK(container["image"].as<std::string>() == "localhost/shop/recs:1");
        CHECK(container["ports"][0]["containerPort"].as<int>() == 8000);
        CHECK(container["resources"]["limits"]["cpu"].as<std::string>() == "1500m");
        CHECK(container["resources"]["limits"]["memory"].as<std::string>() == "2Gi");
        CHECK(container["resources"]["limits"]["nvidia.com/gpu"].as<int>() == 1);
        CHECK(container["resources"]["requests"]["memory"].as<std::string>() == "2Gi");
        const auto probe = container["readinessProbe"];
        CHECK(probe["httpGet"]["path"].as<std::string>() == "/healthz");
        CHECK(probe["httpGet"]["port"].as<int>() == 8000);
        CHECK(probe["periodSeconds"].as<int>() == 1);
        CHECK(probe["timeoutSeconds"].as<int>() == 2);
        CHECK(probe["failureThreshold"].as<int>() == 5);
        CHECK(probe["initialDelaySeconds"].as<int>() == 10);
        CHECK(spec["template"]["spec"]["terminationGracePeriodSeconds"].as<int>() == 20);
        CHECK(spec["selector"]["matchLabels"]["app.kubernetes.io/instance"].as<std::string>() == "shop");
        CHECK((*recs)["metadata"]["labels"]["app.kubernetes.io/managed-by"].as<std::string>() == "mldeploy");
        CHECK((*recs)["metadata"]["labels"]["io.mldeploy.service"].as<std::string>() == "recs");

        const auto* service = find_kind(docs, "Service", "shop-recs");
        REQUIRE(service != nullptr);
        CHECK((*service)["spec"]["type"].as<std::string>() == "ClusterIP");
        CHECK((*service)["spec"]["ports"][0]["port"].as<int>() == 8000);

        const auto* config = find_kind(docs, "ConfigMap", "shop-balancer");
        REQUIRE(config != nullptr);
        const auto conf = (*config)["data"]["nginx.conf"].as<std::string>();
        CHECK(conf.find("server shop-recs:8000 ") != std::string::npos);
        CHECK(conf.find("server shop-llm:9000 ") != std::string::npos);
        CHECK(conf.find("client_max_body_size 50m;") != std::string::npos);
        CHECK(conf.find("proxy_read_timeout 2m;") != std::string::npos);
        CHECK(conf.find("proxy_buffering off;") != std::string::npos);
        CHECK(conf.find("location = /recs") != std::string::npos);
        const auto* lb = find_kind(docs, "Service", "shop-balancer");
        REQUIRE(lb != nullptr);
        CHECK((*lb)["spec"]["type"].as<std::string>() == "LoadBalancer");
        CHECK((*lb)["spec"]["ports"][0]["port"].as<int>() == 30080);
        CHECK((*lb)["spec"]["ports"][0]["targetPort"].as<int>() == 80);
        const auto* balancer = find_kind(docs, "Deployment", "shop-balancer");
        REQUIRE(balancer != nullptr);
        CHECK((*balancer)["spec"]["template"]["spec"]["containers"][0]["volumeMounts"][0]["mountPath"]
                  .as<std::string>() == "/etc/mldeploy");
        CHECK(docs.front()["kind"].as<std::string>() == "Secret");  // before the pods that read it
    }

    TEST_CASE("kube: env values that look secret go into a Secret, read with secretKeyRef") {
        const auto e = render::export_kube(load("full.toml"), {});
        const auto text = e.text();
        CHECK(text.find("s3cr3t") == std::string::npos);
        CHECK(text.find("pw@db") == std::string::npos);
        std::vector<YAML::Node> docs = YAML::LoadAll(text);
        const auto* secret = find_kind(docs, "Secret", "shop-env");
        REQUIRE(secret != nullptr);
        CHECK((*secret)["data"]["recs.API_TOKEN"].as<std::string>() == "czNjcjN0");  // base64("s3cr3t")
        CHECK((*secret)["data"]["recs.DB"]);
        const auto env =
            (*find_kind(docs, "Deployment", "shop-recs"))["spec"]["template"]["spec"]["containers"][0]["env"];
        bool token_by_ref = false, port_plain = false;
        for (const auto& item : env) {
            const auto name = item["name"].as<std::string>();
            if (name == "API_TOKEN")
                token_by_ref = item["valueFrom"]["secretKeyRef"]["key"].as<std::string>() == "recs.API_TOKEN";
            if (name == "PORT") port_plain = item["value"].as<std::string>() == "8000" && item["value"].Tag() == "!";
            if (name == "GREETING") CHECK(item["value"].as<std::string>() == "cost: $5");
        }
        CHECK(token_by_ref);
        CHECK(port_plain);
    }

    TEST_CASE("kube: a named volume is a claim, a bind mount is left out with a warning") {
        const auto e = render::export_kube(load("full.toml"), {});
        std::vector<YAML::Node> docs = YAML::LoadAll(e.text());
        CHECK(find_kind(docs, "PersistentVolumeClaim", "recs-cache") != nullptr);
        CHECK(e.text().find("mountPath: /models") == std::string::npos);
        CHECK(has(e.warnings, "the bind mount"));
        CHECK(has(e.warnings, "./models") == false);  // the absolute host path is named
        CHECK(has(e.warnings, "service recs: image localhost/shop/recs:1 names no registry"));
        CHECK_FALSE(has(e.warnings, "ghcr.io/acme/llm:2"));
        CHECK(has(e.warnings, "gpus = \"all\""));
    }

    TEST_CASE("kube: a job is a Job that runs once, stopped past its timeout, with its claims") {
        const auto e = render::export_kube(load("full.toml"), {});
        std::vector<YAML::Node> docs = YAML::LoadAll(e.text());
        const auto* job = find_kind(docs, "Job", "shop-job-train");
        REQUIRE(job != nullptr);
        CHECK((*job)["apiVersion"].as<std::string>() == "batch/v1");
        CHECK((*job)["metadata"]["labels"]["io.mldeploy.role"].as<std::string>() == "job");
        CHECK((*job)["metadata"]["labels"]["io.mldeploy.job"].as<std::string>() == "train");
        CHECK((*job)["spec"]["backoffLimit"].as<int>() == 0);
        CHECK((*job)["spec"]["activeDeadlineSeconds"].as<int>() == 7200);
        const auto pod = (*job)["spec"]["template"]["spec"];
        CHECK(pod["restartPolicy"].as<std::string>() == "Never");
        CHECK(pod["containers"][0]["image"].as<std::string>() == "localhost/shop/train:1");
        CHECK(pod["containers"][0]["volumeMounts"][0]["mountPath"].as<std::string>() == "/out");
        CHECK(pod["volumes"][0]["persistentVolumeClaim"]["claimName"].as<std::string>() == "recs-cache");
        CHECK(has(e.warnings, "job train: image localhost/shop/train:1 names no registry"));
    }

    TEST_CASE("compose: a job is a service of the jobs profile, run with docker-compose run") {
        const auto e = render::export_compose(load("full.toml"), {kData / "export"});
        const auto train = YAML::Load(e.text())["services"]["train"];
        CHECK(train["profiles"][0].as<std::string>() == "jobs");
        CHECK(train["restart"].as<std::string>() == "no");
        CHECK(train["build"]["context"].as<std::string>() == "../../../../examples/echo");
        CHECK(train["deploy"]["resources"]["limits"]["cpus"].as<std::string>() == "1");
        CHECK(has(e.warnings, "job train: timeout does not carry over"));
    }

    TEST_CASE("kube: --namespace and --node-port") {
        const auto e = render::export_kube(load("full.toml"), {"ml", true});
        std::vector<YAML::Node> docs = YAML::LoadAll(e.text());
        for (const auto& d : docs) CHECK(d["metadata"]["namespace"].as<std::string>() == "ml");
        const auto* lb = find_kind(docs, "Service", "shop-balancer");
        REQUIRE(lb != nullptr);
        CHECK((*lb)["spec"]["type"].as<std::string>() == "NodePort");
        CHECK((*lb)["spec"]["ports"][0]["nodePort"].as<int>() == 30080);
        const auto conf = (*find_kind(docs, "ConfigMap", "shop-balancer"))["data"]["nginx.conf"].as<std::string>();
        CHECK(conf.find("server shop-recs.ml:8000 ") != std::string::npos);
        const auto tiny = render::export_kube(load("minimal.toml"), {"", true});
        CHECK(has(tiny.warnings, "outside Kubernetes' node ports"));
        CHECK(tiny.warnings.size() == 1);  // a registry image: nothing else to say
    }

    TEST_CASE("kube_name: a DNS-1035 label") {
        stack::Stack s;
        s.name = "my_stack";
        CHECK(render::kube_name(s, "a_b") == "my-stack-a-b");
        s.name = "9lives";
        CHECK(render::kube_name(s, "x") == "s-9lives-x");
        s.name = std::string(40, 'a');
        CHECK(render::kube_name(s, std::string(40, 'b')).size() == 63);
    }

    TEST_CASE("compose: services, replicas, healthchecks, resources and the balancer by DNS name") {
        const auto e = render::export_compose(load("full.toml"), {kData / "export"});
        const auto doc = YAML::Load(e.text());
        const auto recs = doc["services"]["recs"];
        CHECK(recs["build"]["context"].as<std::string>() == "../../../../examples/echo");
        CHECK(recs["build"]["dockerfile"].as<std::string>() == "Containerfile");
        CHECK(recs["image"].as<std::string>() == "localhost/shop/recs:1");
        CHECK(recs["deploy"]["replicas"].as<int>() == 3);
        CHECK(recs["deploy"]["resources"]["limits"]["cpus"].as<std::string>() == "1.5");
        CHECK(recs["deploy"]["resources"]["limits"]["memory"].as<std::string>() == "2g");
        CHECK(recs["deploy"]["resources"]["reservations"]["devices"][0]["count"].as<int>() == 1);
        CHECK(recs["volumes"][0].as<std::string>() == "./models:/models:ro");
        CHECK(recs["volumes"][1].as<std::string>() == "recs-cache:/cache");
        CHECK(recs["environment"]["GREETING"].as<std::string>() == "cost: $$5");  // Compose reads "$$" as "$"
        CHECK(recs["environment"]["DEBUG"].as<std::string>() == "no");
        CHECK(recs["healthcheck"]["test"][0].as<std::string>() == "CMD-SHELL");
        CHECK(recs["healthcheck"]["interval"].as<std::string>() == "500ms");
        CHECK(recs["restart"].as<std::string>() == "on-failure");
        CHECK(doc["services"]["llm"]["deploy"]["resources"]["reservations"]["devices"][0]["count"].as<std::string>() ==
              "all");
        CHECK(doc["volumes"]["recs-cache"]["name"].as<std::string>() == "recs-cache");

        const auto balancer = doc["services"]["balancer"];
        CHECK(balancer["ports"][0].as<std::string>() == "0.0.0.0:30080:80");
        CHECK(balancer["depends_on"]["recs"]["condition"].as<std::string>() == "service_healthy");
        CHECK(balancer["depends_on"]["llm"]["condition"].as<std::string>() == "service_started");
        const auto conf = balancer["environment"]["MLDEPLOY_NGINX_CONF"].as<std::string>();
        CHECK(conf.find("resolver 127.0.0.11 valid=5s") != std::string::npos);
        CHECK(conf.find("set $$mldeploy_target http://recs:8000;") != std::string::npos);
        CHECK(conf.find("\n    upstream ") == std::string::npos);
        CHECK(conf.find("client_max_body_size 50m;") != std::string::npos);
        CHECK(has(e.warnings, "env API_TOKEN looks secret"));
        CHECK(has(e.warnings, "algorithm = \"least_conn\" does not carry over"));
    }

    TEST_CASE("compose: the balancer takes another name when a model service is called balancer") {
        auto stack = load("minimal.toml");
        stack.services[0].name = "balancer";
        stack.balancer.routes[0].service = "balancer";
        const auto doc = YAML::Load(render::export_compose(stack, {kData / "export"}).text());
        CHECK(doc["services"]["balancer"]["image"].as<std::string>() == "registry.example:5000/echo:1");
        CHECK(doc["services"]["mldeploy-balancer"]["ports"][0].as<std::string>() == "0.0.0.0:8080:80");
    }
}
