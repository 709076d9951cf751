#include "stack/serialize.hpp"

#include "util/units.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace mldeploy::stack {
namespace {

using nlohmann::json;

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

std::map<std::string, std::string> shown_env(const std::map<std::string, std::string>& values, bool redact) {
    auto env = values;
    if (redact)
        for (auto& [k, v] : env)
            if (looks_secret(k) || value_looks_secret(v)) v = "***";
    return env;
}

std::map<std::string, std::string> shown_args(const Build& b, bool redact) {
    auto args = b.args;
    if (redact)
        for (auto& [k, v] : args)
            if (looks_secret(k) || value_looks_secret(v)) v = "***";
    return args;
}

// The loader interpolates every string again: a literal '$' is written "$$".
std::string escape_dollars(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '$') out += '$';
        out += c;
    }
    return out;
}

std::string volume_text(const Volume& v) {
    return v.source + ":" + v.target + (v.options.empty() ? "" : ":" + v.options);
}

toml::table resources_toml(const Resources& r) {
    toml::table res;
    if (r.cpus) res.insert("cpus", *r.cpus);
    if (r.memory_bytes) res.insert("memory", util::format_size(*r.memory_bytes));
    if (r.gpus) {
        if (*r.gpus == "all")
            res.insert("gpus", "all");
        else
            res.insert("gpus", std::stoll(*r.gpus));
    }
    if (r.share_gpus) res.insert("share_gpus", true);
    return res;
}

toml::table job_toml(const Job& job, bool redact) {
    toml::table t;
    if (job.build) {
        toml::table args;
        for (const auto& [k, v] : shown_args(*job.build, redact)) args.insert(k, escape_dollars(v));
        t.insert("build", toml::table{{"context", job.build->context.string()},
                                      {"dockerfile", job.build->dockerfile},
                                      {"args", std::move(args)}});
    }
    t.insert("image", job.image);
    if (!job.command.empty()) {
        toml::array cmd;
        for (const auto& c : job.command) cmd.push_back(escape_dollars(c));
        t.insert("command", std::move(cmd));
    }
    toml::table env;
    for (const auto& [k, v] : shown_env(job.env, redact)) env.insert(k, escape_dollars(v));
    t.insert("env", std::move(env));
    toml::array volumes;
    for (const auto& v : job.volumes) volumes.push_back(volume_text(v));
    t.insert("volumes", std::move(volumes));
    if (auto res = resources_toml(job.resources); !res.empty()) t.insert("resources", std::move(res));
    if (job.timeout) t.insert("timeout", util::format_duration(*job.timeout));
    return t;
}

}  // namespace

json jobs_to_json(const Stack& stack, bool redact) {
    json jobs = json::array();
    for (const auto& job : stack.jobs) {
        json jj;
        jj["name"] = job.name;
        if (job.build)
            jj["build"] = {{"context", job.build->context.string()},
                           {"dockerfile", job.build->dockerfile},
                           {"args", shown_args(*job.build, redact)}};
        jj["image"] = job.image;
        jj["command"] = job.command;
        jj["env"] = shown_env(job.env, redact);
        auto& volumes = jj["volumes"] = json::array();
        for (const auto& v : job.volumes)
            volumes.push_back(
                {{"source", v.source}, {"target", v.target}, {"options", v.options}, {"bind", v.is_bind}});
        json res = json::object();
        if (job.resources.cpus) res["cpus"] = *job.resources.cpus;
        if (job.resources.memory_bytes) res["memory_bytes"] = *job.resources.memory_bytes;
        if (job.resources.gpus) res["gpus"] = *job.resources.gpus;
        jj["resources"] = res;
        jj["timeout_ms"] = job.timeout ? json(job.timeout->count()) : json();
        jobs.push_back(jj);
    }
    return jobs;
}

bool looks_secret(std::string_view env_name) {
    const auto name = upper(env_name);
    for (const char* word :
         {"SECRET", "TOKEN", "PASS", "PWD", "KEY", "CREDENTIAL", "AUTH", "BEARER", "PRIVATE", "SESSION", "COOKIE",
          "SIGNATURE", "SALT", "DSN", "DATABASE_URL", "CONNECTION_STRING", "CERT", "ACCESS"})
        if (name.find(word) != std::string::npos) return true;
    return false;
}

bool value_looks_secret(std::string_view value) {
    // A URL with credentials in it: scheme://user:password@host...
    if (const auto scheme = value.find("://"); scheme != std::string_view::npos) {
        const auto rest = value.substr(scheme + 3);
        const auto at = rest.find('@');
        if (at != std::string_view::npos && rest.substr(0, at).find(':') != std::string_view::npos &&
            rest.substr(0, at).find('/') == std::string_view::npos)
            return true;
    }
    // An Authorization header's value.
    const auto upper_value = upper(value.substr(0, 7));
    return upper_value.starts_with("BEARER ") || upper_value.starts_with("BASIC ");
}

json to_json(const Stack& stack, bool redact) {
    json j;
    j["name"] = stack.name;
    if (stack.target != "engine") j["target"] = stack.target;
    j["network"] = stack.network;
    j["file"] = stack.file.string();
    auto& services = j["services"] = json::array();
    for (const auto& s : stack.services) {
        json sj;
        sj["name"] = s.name;
        if (s.build)
            sj["build"] = {{"context", s.build->context.string()},
                           {"dockerfile", s.build->dockerfile},
                           {"args", shown_args(*s.build, redact)}};
        sj["image"] = s.image;
        sj["port"] = s.port;
        sj["replicas"] = s.replicas;
        sj["command"] = s.command;
        sj["env"] = shown_env(s.env, redact);
        auto& volumes = sj["volumes"] = json::array();
        for (const auto& v : s.volumes)
            volumes.push_back(
                {{"source", v.source}, {"target", v.target}, {"options", v.options}, {"bind", v.is_bind}});
        sj["restart"] = s.restart;
        if (s.health)
            sj["health"] = {{"path", s.health->path},
                            {"interval_ms", s.health->interval.count()},
                            {"timeout_ms", s.health->timeout.count()},
                            {"retries", s.health->retries},
                            {"start_period_ms", s.health->start_period.count()}};
        json res = json::object();
        if (s.resources.cpus) res["cpus"] = *s.resources.cpus;
        if (s.resources.memory_bytes) res["memory_bytes"] = *s.resources.memory_bytes;
        if (s.resources.gpus) res["gpus"] = *s.resources.gpus;
        if (s.resources.share_gpus) res["share_gpus"] = true;
        sj["resources"] = res;
        if (s.drain) sj["drain_ms"] = s.drain->count();
        if (s.max_inflight) sj["max_inflight"] = *s.max_inflight;
        if (s.autoscale)
            sj["autoscale"] = {{"min", s.autoscale->min},
                               {"max", s.autoscale->max},
                               {"target_inflight", s.autoscale->target_inflight},
                               {"scale_up_delay_ms", s.autoscale->scale_up_delay.count()},
                               {"scale_down_delay_ms", s.autoscale->scale_down_delay.count()}};
        if (s.rollout) {
            json r = {{"strategy", s.rollout->strategy},
                      {"steps", s.rollout->steps},
                      {"pause_ms", s.rollout->pause.count()},
                      {"max_error_rate", s.rollout->max_error_rate},
                      {"min_requests", s.rollout->min_requests}};
            if (s.rollout->max_p95) r["max_p95_ms"] = s.rollout->max_p95->count();
            sj["rollout"] = r;
        }
        services.push_back(sj);
    }
    const auto& b = stack.balancer;
    json routes = json::array();
    const auto backends_json = [](const std::vector<Backend>& backends) {
        json out = json::array();
        for (const auto& backend : backends) out.push_back({{"service", backend.service}, {"weight", backend.weight}});
        return out;
    };
    for (const auto& r : b.routes) {
        json route{{"path", r.path}};
        if (r.backends.empty())
            route["service"] = r.service;
        else
            route["backends"] = backends_json(r.backends);
        if (r.strip_prefix) route["strip_prefix"] = true;  // absent: stack.json stays as before
        if (!r.sticky.empty()) route["sticky"] = r.sticky;
        if (!r.mirror.empty()) route["mirror"] = {{"service", r.mirror}, {"percent", r.mirror_percent}};
        if (r.live) route["live"] = backends_json(*r.live);
        routes.push_back(std::move(route));
    }
    j["balancer"] = {{"image", b.image},
                     {"port", b.port},
                     {"host_ip", b.host_ip},
                     {"algorithm", b.algorithm},
                     {"max_body_bytes", b.max_body_bytes},
                     {"timeout_ms", b.timeout.count()},
                     {"routes", routes}};
    // Only when set, so that stack.json without it stays as before.
    if (stack.metrics) j["metrics"] = {{"port", stack.metrics->port}, {"host_ip", stack.metrics->host_ip}};
    return j;
}

Stack stack_from_json(const json& j) {
    Stack stack;
    stack.name = j.at("name").get<std::string>();
    stack.target = j.value("target", "engine");
    stack.network = j.at("network").get<std::string>();
    stack.file = j.value("file", "");
    stack.dir = stack.file.parent_path();
    for (const auto& sj : j.at("services")) {
        Service s;
        s.name = sj.at("name").get<std::string>();
        if (sj.contains("build")) {
            Build b;
            b.context = sj["build"].at("context").get<std::string>();
            b.dockerfile = sj["build"].value("dockerfile", "");
            b.args = sj["build"].value("args", std::map<std::string, std::string>{});
            s.build = b;
        }
        s.image = sj.at("image").get<std::string>();
        s.port = sj.at("port").get<int>();
        s.replicas = sj.at("replicas").get<int>();
        s.command = sj.value("command", std::vector<std::string>{});
        s.env = sj.value("env", std::map<std::string, std::string>{});
        for (const auto& v : sj.value("volumes", json::array()))
            s.volumes.push_back({v.at("source").get<std::string>(), v.at("target").get<std::string>(),
                                 v.value("options", ""), v.value("bind", true)});
        s.restart = sj.value("restart", "no");
        if (sj.contains("health")) {
            const auto& h = sj["health"];
            s.health = Health{h.at("path").get<std::string>(), Millis(h.at("interval_ms").get<long>()),
                              Millis(h.at("timeout_ms").get<long>()), h.at("retries").get<int>(),
                              Millis(h.at("start_period_ms").get<long>())};
        }
        const auto& res = sj.value("resources", json::object());
        if (res.contains("cpus")) s.resources.cpus = res["cpus"].get<double>();
        if (res.contains("memory_bytes")) s.resources.memory_bytes = res["memory_bytes"].get<std::int64_t>();
        if (res.contains("gpus")) s.resources.gpus = res["gpus"].get<std::string>();
        s.resources.share_gpus = res.value("share_gpus", false);
        if (sj.contains("drain_ms")) s.drain = Millis(sj["drain_ms"].get<long>());
        if (sj.contains("max_inflight")) s.max_inflight = sj["max_inflight"].get<int>();
        if (sj.contains("autoscale")) {
            const auto& a = sj["autoscale"];
            Autoscale autoscale;
            autoscale.min = a.at("min").get<int>();
            autoscale.max = a.at("max").get<int>();
            autoscale.target_inflight = a.at("target_inflight").get<double>();
            autoscale.scale_up_delay = Millis(a.at("scale_up_delay_ms").get<long>());
            autoscale.scale_down_delay = Millis(a.at("scale_down_delay_ms").get<long>());
            s.autoscale = autoscale;
        }
        if (sj.contains("rollout")) {
            const auto& r = sj["rollout"];
            Rollout rollout;
            rollout.strategy = r.at("strategy").get<std::string>();
            rollout.steps = r.at("steps").get<std::vector<int>>();
            rollout.pause = Millis(r.at("pause_ms").get<long>());
            rollout.max_error_rate = r.at("max_error_rate").get<double>();
            rollout.min_requests = r.at("min_requests").get<int>();
            if (r.contains("max_p95_ms")) rollout.max_p95 = Millis(r["max_p95_ms"].get<long>());
            s.rollout = rollout;
        }
        stack.services.push_back(std::move(s));
    }
    const auto& bj = j.at("balancer");
    auto& b = stack.balancer;
    b.image = bj.at("image").get<std::string>();
    b.port = bj.at("port").get<int>();
    b.host_ip = bj.at("host_ip").get<std::string>();
    b.algorithm = bj.at("algorithm").get<std::string>();
    b.max_body_bytes = bj.at("max_body_bytes").get<std::int64_t>();
    b.timeout = Millis(bj.at("timeout_ms").get<long>());
    const auto backends_of = [](const json& list) {
        std::vector<Backend> backends;
        for (const auto& e : list) backends.push_back({e.at("service").get<std::string>(), e.at("weight").get<int>()});
        return backends;
    };
    for (const auto& r : bj.at("routes")) {
        Route route{r.at("path").get<std::string>(), r.value("service", ""), r.value("strip_prefix", false)};
        if (r.contains("backends")) route.backends = backends_of(r["backends"]);
        route.sticky = r.value("sticky", "");
        if (r.contains("mirror")) {
            route.mirror = r["mirror"].at("service").get<std::string>();
            route.mirror_percent = r["mirror"].at("percent").get<int>();
        }
        if (r.contains("live")) route.live = backends_of(r["live"]);
        b.routes.push_back(std::move(route));
    }
    if (j.contains("metrics"))
        stack.metrics = Metrics{j["metrics"].at("port").get<int>(), j["metrics"].value("host_ip", "127.0.0.1")};
    return stack;
}

std::string to_toml(const Stack& stack, bool redact) {
    toml::table root;
    root.insert("name", stack.name);
    if (stack.target != "engine") root.insert("target", stack.target);
    root.insert("network", toml::table{{"name", stack.network}});
    // toml++ sorts a table's keys; each service is printed on its own so that
    // they keep the stack's order (which is the balancer's order too).
    std::ostringstream os;
    os << root << "\n";
    for (const auto& s : stack.services) {
        toml::table t;
        if (s.build) {
            toml::table args;
            for (const auto& [k, v] : shown_args(*s.build, redact)) args.insert(k, escape_dollars(v));
            t.insert("build", toml::table{{"context", s.build->context.string()},
                                          {"dockerfile", s.build->dockerfile},
                                          {"args", std::move(args)}});
        }
        t.insert("image", s.image);
        t.insert("port", s.port);
        t.insert("replicas", s.replicas);
        if (!s.command.empty()) {
            toml::array cmd;
            for (const auto& c : s.command) cmd.push_back(escape_dollars(c));
            t.insert("command", std::move(cmd));
        }
        toml::table env;
        for (const auto& [k, v] : shown_env(s.env, redact)) env.insert(k, escape_dollars(v));
        t.insert("env", std::move(env));
        toml::array volumes;
        for (const auto& v : s.volumes) volumes.push_back(volume_text(v));
        t.insert("volumes", std::move(volumes));
        t.insert("restart", s.restart);
        if (s.health)
            t.insert("health", toml::table{{"path", s.health->path},
                                           {"interval", util::format_duration(s.health->interval)},
                                           {"timeout", util::format_duration(s.health->timeout)},
                                           {"retries", s.health->retries},
                                           {"start_period", util::format_duration(s.health->start_period)}});
        if (auto res = resources_toml(s.resources); !res.empty()) t.insert("resources", std::move(res));
        if (s.drain) t.insert("drain", util::format_duration(*s.drain));
        if (s.max_inflight) t.insert("max_inflight", *s.max_inflight);
        if (s.autoscale)
            t.insert("autoscale",
                     toml::table{{"min", s.autoscale->min},
                                 {"max", s.autoscale->max},
                                 {"target_inflight", s.autoscale->target_inflight},
                                 {"scale_up_delay", util::format_duration(s.autoscale->scale_up_delay)},
                                 {"scale_down_delay", util::format_duration(s.autoscale->scale_down_delay)}});
        if (s.rollout) {
            toml::table r{{"strategy", s.rollout->strategy}};
            // A rolling update reads none of the canary's keys (the loader refuses them there).
            if (s.rollout->canary()) {
                toml::array steps;
                for (int step : s.rollout->steps) steps.push_back(step);
                r.insert("steps", std::move(steps));
                r.insert("pause", util::format_duration(s.rollout->pause));
                auto percent = fmt::format("{:.4f}", s.rollout->max_error_rate * 100);
                while (percent.ends_with('0')) percent.pop_back();
                if (percent.ends_with('.')) percent.pop_back();
                r.insert("max_error_rate", percent + "%");
                if (s.rollout->max_p95) r.insert("max_p95", util::format_duration(*s.rollout->max_p95));
                r.insert("min_requests", s.rollout->min_requests);
            }
            t.insert("rollout", std::move(r));
        }
        os << "\n" << toml::table{{"services", toml::table{{s.name, std::move(t)}}}} << "\n";
    }
    const auto& b = stack.balancer;
    toml::array routes;
    for (const auto& r : b.routes) {
        toml::table route{{"path", r.path}};
        if (r.backends.empty()) {
            route.insert("service", r.service);
        } else {
            toml::array backends;
            for (const auto& backend : r.backends)
                backends.push_back(toml::table{{"service", backend.service}, {"weight", backend.weight}});
            route.insert("backends", std::move(backends));
        }
        if (r.strip_prefix) route.insert("strip_prefix", true);
        if (!r.sticky.empty()) route.insert("sticky", r.sticky);
        if (!r.mirror.empty()) {
            route.insert("mirror", r.mirror);
            if (r.mirror_percent != 100) route.insert("mirror_percent", r.mirror_percent);
        }
        routes.push_back(std::move(route));
    }
    const toml::table balancer{{"balancer", toml::table{{"image", b.image},
                                                        {"port", b.port},
                                                        {"host_ip", b.host_ip},
                                                        {"algorithm", b.algorithm},
                                                        {"max_body", util::format_size(b.max_body_bytes)},
                                                        {"timeout", util::format_duration(b.timeout)},
                                                        {"routes", std::move(routes)}}}};
    os << "\n" << balancer << "\n";
    if (stack.metrics)
        os << "\n"
           << toml::table{{"metrics", toml::table{{"port", stack.metrics->port}, {"host_ip", stack.metrics->host_ip}}}}
           << "\n";
    for (const auto& job : stack.jobs)
        os << "\n" << toml::table{{"jobs", toml::table{{job.name, job_toml(job, redact)}}}} << "\n";
    return os.str();
}

}  // namespace mldeploy::stack
