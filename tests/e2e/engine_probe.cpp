// Every Engine call against a live engine, through the engine layer alone (not
// the binary): ctest runs it as e2e_<engine>_engine_probe, once per flavour.
// Needs the engine's service and the image localhost/mldeploy/python:3.11
// (packaging/build-base-images.sh). Everything it makes is named
// mldeploy-probe-* and removed at the end.
//
// Usage: engine_probe podman|docker SOCKET   (PROBE_DEBUG=1 logs each request)
#include "engine/discovery.hpp"
#include "engine/http.hpp"
#include "util/tar.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace mldeploy::engine;

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    fmt::print("{} {}\n", ok ? "  ok  " : "  FAIL", what);
    if (!ok) {
        ++failures;
    }
}

template <typename F>
std::string expect_error(const std::string& what, F&& f) {
    try {
        f();
    } catch (const EngineError& e) {
        fmt::print("  ok   {}: EngineError kind={} what=\"{}\"\n", what, static_cast<int>(e.kind()), e.what());
        return e.what();
    }
    check(false, what + ": expected an EngineError");
    return {};
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string untar_one(const std::string& tar, const std::string& name) {
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_open_memory(a, tar.data(), tar.size());
    archive_entry* entry = nullptr;
    std::string content = "<missing>";
    while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
        if (std::string(archive_entry_pathname(entry)) == name) {
            content.assign(static_cast<std::size_t>(archive_entry_size(entry)), '\0');
            archive_read_data(a, content.data(), content.size());
        }
    }
    archive_read_free(a);
    return content;
}

struct StopHere {};

}  // namespace

int main(int argc, char** argv) {
    if (std::getenv("PROBE_DEBUG") != nullptr) {
        spdlog::set_level(spdlog::level::debug);
    }
    if (argc != 3 || (std::string(argv[1]) != "podman" && std::string(argv[1]) != "docker")) {
        fmt::print(stderr, "usage: engine_probe podman|docker SOCKET\n");
        return 2;
    }
    const std::string flavour = argv[1];
    const std::string socket = argv[2];
    // The raw API, for what Engine does not do (tag, remove an image, read a field).
    const std::string api = flavour == "podman" ? "/v4.0.0/libpod" : "/v1.41";
    constexpr int host_port = 18101;
    const std::string p = fmt::format("mldeploy-probe-{}", ::getpid());
    const std::string shared_base = "localhost/mldeploy/python:3.11";
    // A tag of our own, so that others removing the shared tag meanwhile do not matter.
    const std::string base_image = "localhost/" + p + "-base:1";
    const std::string tag = "localhost/" + p + ":1";
    const std::string net = p + "-net";
    const std::string name = p + "-app-1";
    const std::unique_ptr<Engine> engine_owner = make_engine(flavour, socket);
    Engine& engine = *engine_owner;
    UnixHttpClient raw(socket);
    const auto tmp = std::filesystem::temp_directory_path() / p;

    try {
        fmt::print("info\n");
        const EngineInfo info = engine.info();
        fmt::print("  flavour={} version={} api={} socket={}\n", info.flavour, info.version, info.api_version,
                   info.socket);
        check(info.flavour == flavour && !info.version.empty(), "info");

        fmt::print("transport failure\n");
        try {
            make_engine(flavour, "/nonexistent/engine.sock")->info();
            check(false, "info on a missing socket: expected an EngineError");
        } catch (const EngineError& e) {
            check(e.kind() == ErrorKind::transport,
                  std::string("info on a missing socket is kind transport: ") + e.what());
        }

        fmt::print("images\n");
        const auto base_id = engine.image_id(shared_base);
        check(base_id.has_value(), "image_id(" + shared_base + ") = " + base_id.value_or("none"));
        const auto tagged =
            raw.request("POST", api + "/images/" + shared_base + "/tag?repo=localhost/" + p + "-base&tag=1");
        check(tagged.status == 201, fmt::format("tag a private copy of the base: HTTP {}", tagged.status));
        check(!engine.image_id("localhost/no-such-image:0").has_value(), "image_id of a missing image is nullopt");

        fmt::print("build\n");
        std::filesystem::create_directories(tmp / "ctx/sub");
        std::ofstream(tmp / "ctx/Dockerfile") << "FROM " << base_image
                                              << "\nARG GREETING=none\nCOPY sub/hello.txt /hello.txt\n"
                                                 "RUN echo \"greeting=$GREETING\" > /greeting && cat /greeting\n";
        std::ofstream(tmp / "ctx/sub/hello.txt") << "hello from the context\n";
        std::ofstream(tmp / "ctx/ignored.bin") << "not sent";
        std::ofstream(tmp / "ctx/.dockerignore") << "*.bin\n";
        BuildRequest build;
        build.tag = tag;
        build.args = {{"GREETING", "probe said hi"}};
        build.context_tar = mldeploy::util::tar_directory(tmp / "ctx", mldeploy::util::read_dockerignore(tmp / "ctx"));
        std::vector<std::string> build_lines;
        auto t0 = std::chrono::steady_clock::now();
        const std::string built =
            engine.build_image(build, [&](std::string_view line) { build_lines.emplace_back(line); });
        fmt::print("  built {} in {:.1f}s, {} progress lines; last: \"{}\"\n", built, seconds_since(t0),
                   build_lines.size(), build_lines.empty() ? "" : build_lines.back());
        bool saw_greeting = false;
        for (const auto& l : build_lines) {
            saw_greeting = saw_greeting || l == "greeting=probe said hi";
        }
        check(saw_greeting, "build args reached the RUN step and its output reached the sink");
        check(engine.image_id(tag) == built, "build returned the tag's image id");

        BuildRequest bad = build;
        std::ofstream(tmp / "ctx/Failing.Dockerfile")
            << "FROM " << base_image << "\nRUN echo about to fail && echo on stderr >&2 && exit 3\n";
        bad.dockerfile = "Failing.Dockerfile";
        bad.tag = "localhost/" + p + ":bad";
        bad.context_tar = mldeploy::util::tar_directory(tmp / "ctx", {}, {"Failing.Dockerfile"});
        const std::string build_error = expect_error("failing build", [&] { engine.build_image(bad, nullptr); });
        check(build_error.find("about to fail") != std::string::npos, "the failing build's output is in the message");

        BuildRequest no_file = build;
        no_file.dockerfile = "Nope.Dockerfile";
        no_file.tag = "localhost/" + p + ":nofile";
        expect_error("build with a missing Dockerfile", [&] { engine.build_image(no_file, nullptr); });

        fmt::print("pull\n");
        t0 = std::chrono::steady_clock::now();
        if (flavour == "podman") {
            engine.pull_image(base_image, nullptr);
            check(true, fmt::format("pull of a present image with policy=missing ({:.1f}s)", seconds_since(t0)));
        } else {
            // Docker always asks the registry (mldeploy pulls only what image_id misses).
            expect_error("pull of a local-only image asks the registry",
                         [&] { engine.pull_image(base_image, nullptr); });
        }
        t0 = std::chrono::steady_clock::now();
        expect_error("pull from an unreachable registry", [&] {
            engine.pull_image("quay.io/mldeploy-probe/none:1", [](std::string_view l) { fmt::print("    | {}\n", l); });
        });
        fmt::print("  (took {:.1f}s)\n", seconds_since(t0));

        fmt::print("networks\n");
        engine.create_network(net, {{"io.mldeploy.probe", p}, {"io.mldeploy.kind", "net"}});
        auto nets = engine.list_networks({{"io.mldeploy.probe", p}});
        check(nets.size() == 1 && nets[0].name == net && nets[0].labels.at("io.mldeploy.kind") == "net" &&
                  !nets[0].id.empty(),
              "list_networks by label finds the new network");
        check(engine.list_networks({{"io.mldeploy.probe", "nobody"}}).empty(), "a label nobody has lists nothing");
        const auto dup = expect_error("create the same network again", [&] { engine.create_network(net, {}); });

        fmt::print("containers\n");
        std::filesystem::create_directories(tmp / "bind");
        std::ofstream(tmp / "bind/model.txt") << "model bytes\n";
        ContainerSpec spec;
        spec.name = name;
        spec.image = tag;
        spec.labels = {{"io.mldeploy.probe", p}, {"io.mldeploy.replica", "1"}};
        spec.env = {{"PROBE", "yes"}};
        spec.command = {"sh", "-c",
                        "echo out-line-1; echo err-line-1 >&2; printf 'partial'; sleep 0.2; echo ' end'; "
                        "exec python3 -m http.server 8000"};
        spec.network = net;
        spec.network_aliases = {"app", "app-1"};
        spec.ports = {{"127.0.0.1", host_port, 8000, "tcp"}};
        spec.stop_signal = "SIGQUIT";
        spec.mounts = {{(tmp / "bind").string(), "/models", {"ro"}, true}};
        spec.restart_policy = "on-failure:2";
        spec.cpus = 0.5;
        spec.memory_bytes = 256LL * 1024 * 1024;
        spec.stop_timeout_s = 3;
        t0 = std::chrono::steady_clock::now();
        const std::string id = engine.create_container(spec);
        check(!id.empty(), fmt::format("create_container -> {} ({:.2f}s)", id.substr(0, 12), seconds_since(t0)));
        try {
            engine.create_container(spec);
            check(false, "a second container with the same name was created");
        } catch (const EngineError& e) {
            check(e.conflict(), fmt::format("same name again: conflict(): {}", e.what()));
        }

        auto d = engine.inspect_container(id);
        check(d.state == "created" && !d.running, "inspect of a created container: state " + d.state);

        fmt::print("put_archive before start\n");
        engine.put_archive(id, "/etc",
                           mldeploy::util::tar_files({{"mldeploy/probe.conf", "written before start\n", 0644}}));
        check(true, "put_archive on a created, never started container");
        // Podman makes a missing target folder; the Docker flavour sends it inside the tar.
        engine.put_archive(id, "/no/such/dir", mldeploy::util::tar_files({{"x", "y", 0644}}));
        check(true, "put_archive into a missing folder is accepted");

        t0 = std::chrono::steady_clock::now();
        engine.start_container(id);
        check(true, fmt::format("start ({:.2f}s)", seconds_since(t0)));
        engine.start_container(id);
        check(true, "start again (304 is fine)");

        fmt::print("exec\n");
        auto r = engine.exec(id, {"cat", "/etc/mldeploy/probe.conf"});
        check(r.exit_code == 0 && r.output == "written before start\n",
              fmt::format("exec cat: exit {} output \"{}\"", r.exit_code, r.output));
        r = engine.exec(id, {"cat", "/no/such/dir/x"});
        check(r.exit_code == 0 && r.output == "y", "the file put into a missing folder is there");
        r = engine.exec(id, {"sh", "-c", "echo to-out; echo to-err >&2; exit 3"});
        check(r.exit_code == 3 && r.output.find("to-out") != std::string::npos &&
                  r.output.find("to-err") != std::string::npos,
              fmt::format("exec exit 3: exit {} output \"{}\"", r.exit_code, r.output));
        std::vector<std::pair<LogStream, std::string>> streamed;
        const int streamed_code =
            engine.exec_stream(id, {"sh", "-c", "echo first; sleep 1; echo second >&2; printf 'no newline'; exit 4"},
                               [&](LogStream s, std::string_view l) { streamed.emplace_back(s, l); });
        check(streamed_code == 4 &&
                  streamed == std::vector<std::pair<LogStream, std::string>>{{LogStream::stdout_, "first"},
                                                                             {LogStream::stderr_, "second"},
                                                                             {LogStream::stdout_, "no newline"}},
              fmt::format("exec_stream: exit {}, {} lines", streamed_code, streamed.size()));
        r = engine.exec(id, {"sh", "-c", "echo $PROBE; cat /models/model.txt; touch /models/x 2>&1 || true"});
        check(r.output.find("yes\nmodel bytes\n") == 0 && r.output.find("Read-only") != std::string::npos,
              "env, and the bind mount is read-only: \"" + r.output + "\"");
        r = engine.exec(id, {"sh", "-c",
                             "ulimit -n; ulimit -u; cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat "
                             "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"});
        fmt::print("  limits inside: {}", r.output);
        expect_error("exec of a missing program", [&] {
            auto rr = engine.exec(id, {"/no/such/program"});
            throw EngineError("(no error: exec returned)", 0,
                              fmt::format("exit {} output {}", rr.exit_code, rr.output));
        });

        fmt::print("get_archive\n");
        const std::string got = engine.get_archive(id, "/etc/mldeploy/probe.conf");
        check(untar_one(got, "probe.conf") == "written before start\n", "get_archive of a file");

        fmt::print("logs\n");
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        std::vector<std::pair<LogStream, std::string>> lines;
        engine.logs(id, false, std::nullopt, [&](LogStream s, std::string_view l) { lines.emplace_back(s, l); });
        for (const auto& [s, l] : lines) {
            fmt::print("    {} {}\n", s == LogStream::stderr_ ? "err" : "out", l);
        }
        // Docker reads stdout and stderr concurrently: their lines may interleave.
        const auto first_out =
            std::find_if(lines.begin(), lines.end(), [](const auto& line) { return line.first == LogStream::stdout_; });
        check(lines.size() >= 3 && first_out != lines.end() && first_out->second == "out-line-1",
              "logs: first line on stdout");
        bool saw_err = false;
        bool saw_joined = false;
        for (const auto& [s, l] : lines) {
            saw_err = saw_err || (s == LogStream::stderr_ && l == "err-line-1");
            saw_joined = saw_joined || l == "partial end";
        }
        check(saw_err, "logs: stderr line kept apart");
        check(saw_joined, "logs: a line written in two pieces comes as one");
        lines.clear();
        engine.logs(id, false, 1, [&](LogStream s, std::string_view l) { lines.emplace_back(s, l); });
        check(lines.size() == 1, fmt::format("logs tail=1 gives {} line(s)", lines.size()));
        t0 = std::chrono::steady_clock::now();
        int followed = 0;
        try {
            engine.logs(id, true, std::nullopt, [&](LogStream, std::string_view) {
                if (++followed == 2) {
                    throw StopHere{};
                }
            });
            check(false, "follow returned on its own");
        } catch (const StopHere&) {
            check(true, fmt::format("logs follow stopped by the sink's exception after {:.2f}s", seconds_since(t0)));
        }
        // Follow, interrupted from another thread through the cancel flag.
        std::atomic<bool> cancel{false};
        set_http_cancel_flag(&cancel);
        std::thread canceller([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(700));
            cancel = true;
        });
        t0 = std::chrono::steady_clock::now();
        const std::string interrupted = expect_error(
            "logs follow, cancelled after 0.7s", [&] { engine.logs(id, true, 0, [](LogStream, std::string_view) {}); });
        canceller.join();
        set_http_cancel_flag(nullptr);
        fmt::print("  (returned after {:.2f}s)\n", seconds_since(t0));

        fmt::print("inspect and list\n");
        d = engine.inspect_container(id);
        fmt::print("  id={} name={} state={} running={} exit={} restarts={} image={}\n", d.id.substr(0, 12), d.name,
                   d.state, d.running, d.exit_code, d.restart_count, d.image_id.substr(0, 12));
        for (const auto& [n, ip] : d.ip_by_network) {
            fmt::print("  network {} ip {}\n", n, ip);
        }
        check(d.running && d.state == "running" && d.image_id == built && d.labels.at("io.mldeploy.replica") == "1" &&
                  !d.ip_by_network.at(net).empty(),
              "inspect of the running container");
        check(d.env.count("PROBE") == 1 && d.env.at("PROBE") == "yes" && d.env.count("PATH") == 1,
              "inspect: env has the container's and the image's variables");
        check(d.started_at.size() >= 20 && d.started_at[4] == '-', "inspect: started_at " + d.started_at);
        const auto raw_inspect = nlohmann::json::parse(raw.request("GET", api + "/containers/" + id + "/json").body);
        const auto& stop_signal = raw_inspect["Config"]["StopSignal"];
        check(stop_signal == "SIGQUIT" || stop_signal == 3 || stop_signal == "3",
              "the stop signal reached the engine: " + stop_signal.dump());
        auto listed = engine.list_containers({{"io.mldeploy.probe", p}});
        check(listed.size() == 1, fmt::format("list_containers by label: {}", listed.size()));
        if (!listed.empty()) {
            const auto& c = listed[0];
            fmt::print("  name={} image={} state={} status=\"{}\" ports={}\n", c.name, c.image, c.state, c.status,
                       c.ports.size());
            check(c.name == name && c.state == "running" && c.ports.size() == 1 && c.ports[0].host_port == host_port &&
                      c.ports[0].container_port == 8000 && c.ports[0].host_ip == "127.0.0.1" &&
                      c.ports[0].protocol == "tcp" && c.status.starts_with("Up "),
                  "list_containers summary");
        }
        check(std::system(fmt::format("curl -fsS -o /dev/null --retry 5 --retry-connrefused --retry-delay 1 "
                                      "http://127.0.0.1:{}/",
                                      host_port)
                              .c_str()) == 0,
              fmt::format("the published port answers on 127.0.0.1:{}", host_port));

        fmt::print("parallel calls from 6 threads\n");
        std::atomic<int> good{0};
        std::vector<std::thread> threads;
        t0 = std::chrono::steady_clock::now();
        for (int t = 0; t < 6; ++t) {
            threads.emplace_back([&, t] {
                try {
                    for (int i = 0; i < 5; ++i) {
                        auto res = engine.exec(id, {"echo", std::to_string(t * 100 + i)});
                        auto ins = engine.inspect_container(id);
                        if (res.output == std::to_string(t * 100 + i) + "\n" && ins.running) {
                            ++good;
                        }
                    }
                } catch (const std::exception& e) {
                    fmt::print("  thread {}: {}\n", t, e.what());
                }
            });
        }
        for (auto& th : threads) {
            th.join();
        }
        check(good == 30,
              fmt::format("30 exec+inspect pairs from 6 threads: {} good ({:.2f}s)", good.load(), seconds_since(t0)));

        fmt::print("rename, stop, remove\n");
        engine.rename_container(id, name + "-old");
        check(engine.inspect_container(name + "-old").id == id, "rename: the new name inspects to the same id");
        try {
            engine.inspect_container(name);
            check(false, "inspect by the old name: expected an EngineError");
        } catch (const EngineError& e) {
            check(e.not_found(), std::string("inspect by the old name is not_found: ") + e.what());
        }
        t0 = std::chrono::steady_clock::now();
        engine.stop_container(id, 2);
        check(true, fmt::format("stop ({:.2f}s)", seconds_since(t0)));
        engine.stop_container(id, 2);
        check(true, "stop again (304 is fine)");
        d = engine.inspect_container(id);
        check(!d.running && d.state == "exited", fmt::format("stopped: state {} exit {}", d.state, d.exit_code));
        const int waited = engine.wait_container(id);
        check(waited == d.exit_code, fmt::format("wait on an exited container answers its exit code: {}", waited));
        expect_error("exec in a stopped container", [&] { engine.exec(id, {"true"}); });

        fmt::print("GPU without a CDI spec\n");
        ContainerSpec gpu;
        gpu.name = p + "-gpu";
        gpu.image = base_image;
        gpu.command = {"true"};
        gpu.gpus = "all";
        std::string gpu_id;
        try {
            gpu_id = engine.create_container(gpu);
            check(true, "create with nvidia.com/gpu=all");
            expect_error("start with nvidia.com/gpu=all", [&] { engine.start_container(gpu_id); });
        } catch (const EngineError& e) {
            fmt::print("  create refused: {}\n", e.what());
        }
        if (!gpu_id.empty()) {
            engine.remove_container(gpu_id);
        }

        fmt::print("errors\n");
        expect_error("start a missing container", [&] { engine.start_container(p + "-missing"); });
        expect_error("rename a missing container", [&] { engine.rename_container(p + "-missing", "x"); });
        expect_error("get_archive of a missing container", [&] { engine.get_archive(p + "-missing", "/"); });
        ContainerSpec missing_image = spec;
        missing_image.name = p + "-noimage";
        missing_image.image = "localhost/no-such-image:0";
        expect_error("create from a missing image", [&] { engine.create_container(missing_image); });
        ContainerSpec bad_net = spec;
        bad_net.name = p + "-nonet";
        bad_net.network = p + "-no-such-net";
        // Podman refuses at create; Docker creates, and refuses at start.
        expect_error("create and start on a missing network", [&] {
            const std::string bad_id = engine.create_container(bad_net);
            try {
                engine.start_container(bad_id);
            } catch (...) {
                engine.remove_container(bad_id);
                throw;
            }
        });

        engine.remove_container(id);
        check(engine.list_containers({{"io.mldeploy.probe", p}}).empty(), "remove");
        engine.remove_container(id);
        check(true, "remove again (404 is fine)");
        engine.remove_network(net);
        check(engine.list_networks({{"io.mldeploy.probe", p}}).empty(), "remove_network");
        engine.remove_network(net);
        check(true, "remove_network again (404 is fine)");
    } catch (const std::exception& e) {
        check(false, std::string("unexpected: ") + e.what());
    }

    // Clean up whatever is left, whatever happened above.
    for (const auto& c : engine.list_containers({{"io.mldeploy.probe", p}})) {
        engine.remove_container(c.id);
    }
    for (const std::string& n : {p + "-gpu", p + "-noimage", p + "-nonet"}) {
        try {
            engine.remove_container(n);
        } catch (const std::exception&) {
        }
    }
    try {
        engine.remove_network(net);
    } catch (const std::exception&) {
    }
    for (const std::string& image : {base_image, tag, "localhost/" + p + ":bad", "localhost/" + p + ":nofile"}) {
        raw.request("DELETE", api + "/images/" + image + "?force=true");
    }
    std::filesystem::remove_all(tmp);
    fmt::print("\n{}\n", failures == 0 ? "all checks passed" : fmt::format("{} check(s) failed", failures));
    return failures == 0 ? 0 : 1;
}
