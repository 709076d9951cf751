#include "engine/rest_engine.hpp"

#include "engine/registry_auth.hpp"
#include "engine/reply.hpp"
#include "engine/stream.hpp"
#include "util/base64.hpp"

#include <fmt/format.h>

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <csignal>
#include <stdexcept>
#include <thread>

namespace mldeploy::engine {

using nlohmann::json;
using namespace reply;

namespace {

BuildFailureContext failure_context(const BuildRequest& request, const ProgressReader& reader) {
    return {request.dockerfile_label.empty() ? request.dockerfile : request.dockerfile_label, request.dockerfile_text,
            reader.last_step(), reader.tail()};
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        out += out.empty() ? w : " " + w;
    }
    return out;
}

struct NamedSignal {
    const char* name;
    int number;
};

// The signals a stop may sensibly send (signal(7)'s standard ones).
constexpr std::array<NamedSignal, 31> named_signals{{
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},   {"FPE", SIGFPE},     {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
    {"PWR", SIGPWR},
}};

}  // namespace

std::string engine_error_message(std::string_view body) {
    std::string message;
    const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded() && parsed.is_object()) {
        message = get_string(parsed, "message");
        if (message.empty()) {
            message = get_string(parsed, "cause");
        }
    }
    if (message.empty()) {
        message = std::string(body);
    }
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
        message.pop_back();
    }
    return message;
}

std::optional<int> signal_number(std::string_view name) {
    int number = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
    if (!name.empty() && ec == std::errc() && end == name.data() + name.size()) {
        return number >= 1 && number <= 64 ? std::optional<int>(number) : std::nullopt;
    }
    std::string upper;
    for (const char c : name) {
        upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    std::string_view bare = upper;
    if (bare.starts_with("SIG")) {
        bare.remove_prefix(3);
    }
    for (const auto& s : named_signals) {
        if (bare == s.name) {
            return s.number;
        }
    }
    return std::nullopt;
}

std::map<std::string, std::string> env_from_list(const json& entries) {
    std::map<std::string, std::string> env;
    if (!entries.is_array()) {
        return env;
    }
    for (const auto& entry : entries) {
        if (!entry.is_string()) {
            continue;
        }
        const std::string& text = entry.get_ref<const std::string&>();
        const auto eq = text.find('=');
        env[text.substr(0, eq)] = eq == std::string::npos ? std::string() : text.substr(eq + 1);
    }
    return env;
}

CheckedSpec check_spec(const ContainerSpec& spec) {
    CheckedSpec checked;
    const std::string& policy = spec.restart_policy;
    if (policy.empty() || policy == "no") {
        checked.restart_policy = "no";
    } else if (policy == "always" || policy == "unless-stopped" || policy == "on-failure") {
        checked.restart_policy = policy;
    } else if (constexpr std::string_view on_failure = "on-failure:"; policy.starts_with(on_failure)) {
        const std::string_view count = std::string_view(policy).substr(on_failure.size());
        int tries = 0;
        const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), tries);
        if (!count.empty() && ec == std::errc() && end == count.data() + count.size() && tries >= 0) {
            checked.restart_policy = "on-failure";
            checked.restart_tries = tries;
        }
    }
    if (checked.restart_policy.empty()) {
        throw std::invalid_argument(
            fmt::format("container {}: restart policy '{}' is not one of no, on-failure[:N], always, unless-stopped",
                        spec.name, policy));
    }
    if (spec.cpus && !(*spec.cpus > 0)) {
        throw std::invalid_argument(fmt::format("container {}: cpus must be above 0, not {}", spec.name, *spec.cpus));
    }
    if (spec.memory_bytes && *spec.memory_bytes <= 0) {
        throw std::invalid_argument(
            fmt::format("container {}: memory must be above 0, not {}", spec.name, *spec.memory_bytes));
    }
    if (spec.gpus) {
        const std::string& gpus = *spec.gpus;
        int count = -1;
        if (gpus != "all") {
            const auto [end, ec] = std::from_chars(gpus.data(), gpus.data() + gpus.size(), count);
            if (gpus.empty() || ec != std::errc() || end != gpus.data() + gpus.size() || count < 0) {
                throw std::invalid_argument(
                    fmt::format("container {}: gpus must be \"all\" or a count, not \"{}\"", spec.name, gpus));
            }
        }
        checked.gpu_count = count;
    }
    if (spec.stop_signal) {
        checked.stop_signal = signal_number(*spec.stop_signal);
        if (!checked.stop_signal) {
            throw std::invalid_argument(fmt::format("container {}: stop signal '{}' is not a signal's name or number",
                                                    spec.name, *spec.stop_signal));
        }
    }
    return checked;
}

RestEngine::RestEngine(std::string socket_path, Flavour flavour)
    : http_(std::move(socket_path)), flavour_(std::move(flavour)) {}

ErrorKind RestEngine::error_kind(int http_status, const std::string&) const {
    return error_kind_for_status(http_status);
}

void RestEngine::fail(const std::string& step, const HttpResponse& response) const {
    if (response.transport_error) {
        const TransportError& e = *response.transport_error;
        if (e.curl_code == CURLE_ABORTED_BY_CALLBACK) {
            throw EngineError(step, ErrorKind::transport, 0, "interrupted");
        }
        if (e.curl_code == CURLE_COULDNT_CONNECT) {
            throw EngineError(step, ErrorKind::transport, 0,
                              fmt::format("cannot connect to {} at {} ({}); {}", flavour_.name, http_.socket_path(),
                                          e.message, flavour_.start_hint));
        }
        throw EngineError(step, ErrorKind::transport, 0,
                          fmt::format("talking to {} at {}: {}", flavour_.name, http_.socket_path(), e.message));
    }
    std::string message = engine_error_message(response.body);
    const ErrorKind kind = error_kind(response.status, message);
    throw EngineError(step, kind, response.status, std::move(message));
}

void RestEngine::fail_engine(const std::string& step, int http_status, const std::string& message) {
    throw EngineError(step, ErrorKind::engine, http_status, message);
}

json RestEngine::call(const std::string& step, std::string_view method, const std::string& path, std::string_view body,
                      std::string_view content_type, std::initializer_list<int> also_fine,
                      std::chrono::seconds timeout) {
    const HttpResponse response = http_.request(method, path, body, content_type, timeout);
    const bool fine = response.ok() || (!response.transport_error && std::find(also_fine.begin(), also_fine.end(),
                                                                               response.status) != also_fine.end());
    if (!fine) {
        fail(step, response);
    }
    return parse_or_null(response.body);
}

std::string RestEngine::path_of(std::string_view resource, const std::string& name_or_id, std::string_view tail) const {
    return fmt::format("{}/{}/{}{}", flavour_.api, resource, url_encode_path(name_or_id), tail);
}

std::optional<ImageDetails> RestEngine::inspect_image(const std::string& reference) {
    const std::string step = "inspect image " + reference;
    const HttpResponse response = http_.request("GET", path_of("images", reference, "/json"));
    if (!response.transport_error && response.status == 404) {
        return std::nullopt;
    }
    if (!response.ok()) {
        fail(step, response);
    }
    const json image = parse_or_null(response.body);
    ImageDetails details;
    details.id = get_string(image, "Id");
    if (details.id.empty()) {
        fail_engine(step, response.status, "the engine's answer has no image Id");
    }
    // The labels as the image's config holds them (libpod repeats them at the top).
    details.labels = get_labels(get_object(image, "Config"), "Labels");
    return details;
}

std::string RestEngine::build_image(const BuildRequest& request, const ProgressSink& progress) {
    const std::string step = "build " + request.tag;
    Query query;
    query.add("t", request.tag);
    if (!request.dockerfile.empty()) {
        query.add("dockerfile", request.dockerfile);
    }
    if (!request.args.empty()) {
        query.add("buildargs", json(request.args).dump());
    }
    if (!request.labels.empty()) {
        query.add("labels", json(request.labels).dump());  // a JSON object of strings
    }
    add_build_options(query);

    ProgressReader reader(progress);
    const HttpResponse response =
        http_.stream("POST", api_path("/build") + query.str(), request.context_tar, "application/x-tar",
                     [&reader](std::string_view chunk) { reader.feed(chunk); });
    reader.finish();
    if (!response.ok()) {
        if (response.transport_error) {
            fail(step, response);
        }
        // e.g. 500 "Cannot locate specified Dockerfile: Containerfile", or Docker's
        // 400 "dockerfile parse error line 2: unknown instruction: RUNN"
        const std::string message = engine_error_message(response.body);
        throw EngineError(step, error_kind(response.status, message), response.status,
                          describe_build_failure(parse_build_error(message), failure_context(request, reader)));
    }
    if (!reader.error().empty()) {
        // A failed step: 200, and {"error": ..., "errorDetail": ...} in the stream.
        fail_engine(step, response.status,
                    describe_build_failure(parse_build_error(reader.error()), failure_context(request, reader)));
    }
    if (!reader.aux_id().empty()) {
        return reader.aux_id();
    }
    // libpod's /build sends no "aux" ID: ask for the tag instead.
    if (auto id = image_id(request.tag)) {
        return *id;
    }
    fail_engine(step, response.status,
                with_tail("the build ended without an error, but the image is not there", reader.tail()));
}

void RestEngine::tag_image(const std::string& image, const std::string& reference) {
    // "host/repo:tag": the tag follows the last ':' after the last '/'.
    const auto slash = reference.rfind('/');
    const auto colon = reference.rfind(':');
    const bool has_tag = colon != std::string::npos && (slash == std::string::npos || colon > slash);
    Query query;
    query.add("repo", has_tag ? reference.substr(0, colon) : reference);
    query.add("tag", has_tag ? reference.substr(colon + 1) : std::string("latest"));
    call("tag " + reference, "POST", path_of("images", image, "/tag") + query.str(), {}, {}, {201});
}

void RestEngine::pull_image(const std::string& reference, const ProgressSink& progress) {
    const std::string step = "pull " + reference;
    ProgressReader reader(progress);
    const HttpResponse response =
        http_.stream("POST", pull_path(reference), {}, {}, [&reader](std::string_view chunk) { reader.feed(chunk); });
    reader.finish();
    if (!response.ok()) {
        fail(step, response);  // an unreachable registry is a 500 before any progress on Docker
    }
    if (!reader.error().empty()) {
        fail_engine(step, response.status, reader.error());  // Podman: 200, the error in the stream
    }
}

void RestEngine::push_image(const std::string& reference, const std::optional<RegistryAuth>& auth,
                            const ProgressSink& progress) {
    const std::string step = "push " + reference;
    ProgressReader reader(progress);
    // Docker refuses a push without the header ("Bad parameters and missing
    // X-Registry-Auth"): no credentials are sent as {}, as its CLI does.
    const std::vector<std::string> headers{"X-Registry-Auth: " +
                                           (auth ? x_registry_auth(*auth) : util::base64url_encode("{}"))};
    const HttpResponse response = http_.stream(
        "POST", push_path(reference), {}, {}, [&reader](std::string_view chunk) { reader.feed(chunk); }, headers);
    reader.finish();
    if (!response.ok()) fail(step, response);
    // A wrong password or an unreachable registry: 200, the error in the stream.
    if (!reader.error().empty()) fail_engine(step, response.status, reader.error());
}

std::vector<ListedContainer> RestEngine::list_containers_with_addresses(const Labels& label_filter) {
    Query query;
    query.add("all", "1");
    if (const std::string filters = docker_label_filters(label_filter); !filters.empty()) {
        query.add("filters", filters);
    }
    // Podman answers it as Docker does (names "/name", ports as Docker lists them),
    // in about 1 ms per container more than its own list.
    return parse_docker_container_list(
        call("list containers", "GET", std::string(docker_api_prefix) + "/containers/json" + query.str()));
}

std::string RestEngine::create_container(const ContainerSpec& spec) {
    const std::string step = "create container " + spec.name;
    json body;
    try {
        body = create_body(spec);
    } catch (const std::invalid_argument& e) {
        fail_engine(step, 0, e.what());
    }
    const HttpResponse response = send_create(spec, body.dump());
    if (!response.ok()) {
        fail(step, response);
    }
    return created_id(step, parse_or_null(response.body));
}

std::string RestEngine::created_id(const std::string& step, const json& created) {
    if (const auto warnings = created.find("Warnings"); warnings != created.end() && warnings->is_array()) {
        for (const auto& w : *warnings) {
            if (w.is_string()) {
                engine_warning(w.get<std::string>());
            }
        }
    }
    std::string id = get_string(created, "Id");
    if (id.empty()) {
        fail_engine(step, 201, "the engine's answer has no container Id");
    }
    return id;
}

void RestEngine::start_container(const std::string& id) {
    // 304: already running. A GPU the engine cannot give fails here: Docker 500
    // "could not select device driver", Podman 500 "unresolvable CDI devices".
    call("start container " + id, "POST", path_of("containers", id, "/start"), {}, {}, {304});
}

void RestEngine::stop_container(const std::string& id, int timeout_s) {
    const int timeout = std::max(0, timeout_s);
    call("stop container " + id, "POST",
         path_of("containers", id, "/stop") + Query().add(flavour_.stop_timeout_key, timeout).str(), {}, {}, {304},
         std::max(UnixHttpClient::default_timeout, std::chrono::seconds(timeout + 30)));
}

void RestEngine::rename_container(const std::string& id, const std::string& new_name) {
    call(fmt::format("rename container {} to {}", id, new_name), "POST",
         path_of("containers", id, "/rename") + Query().add("name", new_name).str());
}

int RestEngine::wait_container(const std::string& id) {
    const std::string step = "wait for container " + id;
    // Streamed, for its lack of a total timeout: the answer comes when the
    // container stops. Podman's libpod API answers the exit code as a bare
    // number, Docker's {"StatusCode": N}.
    std::string body;
    const HttpResponse response = http_.stream("POST", path_of("containers", id, "/wait"), {}, {},
                                               [&body](std::string_view chunk) { body.append(chunk); });
    if (!response.ok()) fail(step, response);
    const json answer = parse_or_null(body);
    if (answer.is_number_integer()) return answer.get<int>();
    if (answer.is_object() && answer.contains("StatusCode") && answer["StatusCode"].is_number_integer()) {
        if (answer.contains("Error") && answer["Error"].is_object()) {
            const auto message = get_string(answer["Error"], "Message");
            if (!message.empty()) fail_engine(step, response.status, message);
        }
        return answer["StatusCode"].get<int>();
    }
    fail_engine(step, response.status, "the engine's answer holds no exit code: " + body);
}

ContainerDetails RestEngine::inspect_container(const std::string& id) {
    const json c = call("inspect container " + id, "GET", path_of("containers", id, "/json"));
    ContainerDetails details;
    details.id = get_string(c, "Id");
    details.name = get_string(c, "Name");
    if (details.name.starts_with('/')) {
        details.name.erase(0, 1);  // Docker names containers "/name" here
    }
    const json& state = get_object(c, "State");
    details.state = get_string(state, "Status");
    details.running = get_bool(state, "Running");
    details.exit_code = get_int<int>(state, "ExitCode");
    details.started_at = get_string(state, "StartedAt");
    if (details.started_at.starts_with("0001-01-01")) {
        details.started_at.clear();  // Go's zero time: never started
    }
    details.restart_count = get_int<int>(c, "RestartCount");
    details.image_id = get_string(c, "Image");
    const json& config = get_object(c, "Config");
    details.labels = get_labels(config, "Labels");
    if (const auto env = config.find("Env"); env != config.end()) {
        details.env = env_from_list(*env);
    }
    for (const auto& [network, settings] : get_object(get_object(c, "NetworkSettings"), "Networks").items()) {
        details.ip_by_network[network] = get_string(settings, "IPAddress");
    }
    return details;
}

void RestEngine::put_archive(const std::string& id, const std::string& dir, const std::string& tar) {
    call(fmt::format("copy files into container {} at {}", id, dir), "PUT",
         path_of("containers", id, "/archive") + Query().add("path", dir).str(), tar, "application/x-tar");
}

std::string RestEngine::get_archive(const std::string& id, const std::string& path) {
    const std::string step = fmt::format("copy {} out of container {}", path, id);
    const HttpResponse response =
        http_.request("GET", path_of("containers", id, "/archive") + Query().add("path", path).str());
    if (!response.ok()) {
        fail(step, response);  // 404 for a missing path and for a missing container
    }
    return response.body;
}

int RestEngine::run_exec(const std::string& id, const std::vector<std::string>& command, const ChunkSink& output) {
    const std::string step = fmt::format("run `{}` in container {}", join(command), id);
    const json create = {
        {"AttachStdout", true}, {"AttachStderr", true}, {"AttachStdin", false}, {"Tty", false}, {"Cmd", command}};
    const json created = call(step, "POST", path_of("containers", id, "/exec"), create.dump(), "application/json");
    const std::string exec_id = get_string(created, "Id");
    if (exec_id.empty()) {
        fail_engine(step, 201, "the engine's answer has no exec Id");
    }

    // Not a TTY: the output comes multiplexed, in 8-byte-header frames, for as
    // long as the command runs (a stream: no total timeout). Docker hijacks the
    // connection (no length, no chunks) and closes it at the end; curl reads to
    // the close, and the next call opens a new connection.
    const json start = {{"Detach", false}, {"Tty", false}};
    const HttpResponse response =
        http_.stream("POST", path_of("exec", exec_id, "/start"), start.dump(), "application/json", output);
    if (!response.ok()) {
        fail(step, response);
    }

    // The session has normally ended once its output has; allow a moment if not.
    for (int attempt = 0;; ++attempt) {
        const json inspect = call(step, "GET", path_of("exec", exec_id, "/json"));
        if (!get_bool(inspect, "Running") || attempt >= 50) {
            return get_int<int>(inspect, "ExitCode");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

ExecResult RestEngine::exec(const std::string& id, const std::vector<std::string>& command) {
    ExecResult result;
    FrameDecoder frames([&result](LogStream, std::string_view payload) { result.output.append(payload); });
    result.exit_code = run_exec(id, command, [&frames](std::string_view chunk) { frames.feed(chunk); });
    return result;
}

int RestEngine::exec_stream(const std::string& id, const std::vector<std::string>& command, const LogSink& sink) {
    LogLineDecoder decoder(sink);
    const int exit_code = run_exec(id, command, [&decoder](std::string_view chunk) { decoder.feed(chunk); });
    decoder.finish();
    return exit_code;
}

int RestEngine::exec_output(const std::string& id, const std::vector<std::string>& command, const OutputSink& sink) {
    FrameDecoder frames([&sink](LogStream s, std::string_view payload) { sink(s, payload); });
    return run_exec(id, command, [&frames](std::string_view chunk) { frames.feed(chunk); });
}

void RestEngine::logs(const std::string& id, const LogOptions& options, const LogSink& sink) {
    const std::string step = "read the logs of container " + id;
    LogLineDecoder decoder(sink);
    const HttpResponse response = http_.stream("GET", path_of("containers", id, "/logs") + logs_query(options).str(),
                                               {}, {}, [&decoder](std::string_view chunk) { decoder.feed(chunk); });
    decoder.finish();
    if (!response.ok()) {
        fail(step, response);
    }
}

}  // namespace mldeploy::engine
