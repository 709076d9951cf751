// Paths from a stack file (issue 5): nothing a stack file holds reaches a path
// outside the stack's folder tree unless the user wrote that path on purpose, as
// an absolute path or a relative one with "..", in a key that takes a path (build,
// build.context, a volume's host path). What each test shows:
// - names (stack, service, network) and image references can never be paths;
// - env values, and ${VAR} expansions outside path keys, are never used as paths;
// - the dockerfile stays inside the build context, links followed;
// - relative paths resolve against the stack file's folder, whatever the current
//   folder is, and a host path that does not exist is an error at its position.
// The context tar (what the engine gets of a build context) is tar_paths_test.cpp.
#include "plan/specs.hpp"
#include "stack/load.hpp"
#include "stack/serialize.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace mldeploy;
using namespace mldeploy::stack;

namespace {

using mldeploy::test::TempDir;

// Runs the test body in another current folder, and goes back whatever happens.
class InFolder {
public:
    explicit InFolder(const fs::path& folder) : before_(fs::current_path()) { fs::current_path(folder); }
    ~InFolder() {
        std::error_code ignored;
        fs::current_path(before_, ignored);
    }
    InFolder(const InFolder&) = delete;
    InFolder& operator=(const InFolder&) = delete;

private:
    fs::path before_;
};

EnvLookup env_of(std::map<std::string, std::string> values) {
    return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
        auto found = values.find(name);
        if (found == values.end()) return std::nullopt;
        return found->second;
    };
}

std::string errors_of(std::string_view text, const fs::path& file = "stack.toml", const EnvLookup& env = env_of({})) {
    try {
        load_stack_text(text, file, env);
    } catch (const StackError& e) {
        return e.what();
    }
    return "no error";
}

// A TOML basic string holding `text` (the values below need only '"' and '\' escaped).
std::string toml_quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// One service `m`; `service_lines` go into its table (line 4 on).
std::string stack_with(std::string_view service_lines, std::string_view name = "\"paths\"") {
    return "name = " + std::string(name) + "\n[services.m]\nport = 5000\n" + std::string(service_lines) +
           "\n[balancer]\nport = 8080\n";
}

constexpr std::string_view name_rule =
    "'name' must be lowercase letters, digits, '-' and '_', start with a letter or digit and be at most 40 "
    "characters, not ";
constexpr std::string_view service_rule =
    " is not valid: use lowercase letters, digits, '-' and '_', starting with a letter or digit, at most 40 "
    "characters";
constexpr std::string_view network_rule =
    "network 'name' must be lowercase letters, digits, '-', '_' and '.', start with a letter or digit and be at most "
    "40 characters, not ";
constexpr std::string_view image_part_rule =
    " is not an image reference: each part between '/' must start with a letter or digit (no empty, '.' or '..' "
    "parts)";

const std::vector<std::string> path_like_names{"../x", "a/b", ".", "..", "/etc", "./x", "x/..", "a\\b", "~"};

}  // namespace

TEST_SUITE("stack: paths") {
    TEST_CASE("stack names that look like paths are refused where they are written") {
        for (const auto& name : path_like_names) {
            CAPTURE(name);
            CHECK(errors_of(stack_with("image = \"x\"", toml_quoted(name))) ==
                  "stack.toml:1:8: " + std::string(name_rule) + "'" + name + "'");
        }
    }

    TEST_CASE("service names that look like paths are refused where they are written") {
        for (const auto& name : path_like_names) {
            CAPTURE(name);
            const std::string text = "name = \"paths\"\n[services." + toml_quoted(name) +
                                     "]\nimage = \"x\"\nport = 1\n[balancer]\nport = 2\n";
            CHECK(errors_of(text) == "stack.toml:2:1: service name '" + name + "'" + std::string(service_rule));
        }
    }

    TEST_CASE("network names that look like paths are refused where they are written") {
        for (const auto& name : path_like_names) {
            CAPTURE(name);
            const std::string text = "name = \"paths\"\n[network]\nname = " + toml_quoted(name) +
                                     "\n[services.m]\nimage = \"x\"\nport = 1\n[balancer]\nport = 2\n";
            CHECK(errors_of(text) == "stack.toml:3:8: " + std::string(network_rule) + "'" + name + "'");
        }
        // '.' is allowed inside a network name, never as its start: "a..b" is one name, not a path.
        CHECK(errors_of("name = \"paths\"\n[network]\nname = \"a..b\"\n[services.m]\nimage = \"x\"\nport = 1\n"
                        "[balancer]\nport = 2\n") == "no error");
    }

    TEST_CASE("a name that comes from a variable is checked after the substitution") {
        for (const auto& name : path_like_names) {
            CAPTURE(name);
            CHECK(errors_of(stack_with("image = \"x\"", "\"${N}\""), "stack.toml", env_of({{"N", name}})) ==
                  "stack.toml:1:8: " + std::string(name_rule) + "'" + name + "'");
            const std::string network =
                "name = \"paths\"\n[network]\nname = \"${NET}\"\n[services.m]\nimage = \"x\"\n"
                "port = 1\n[balancer]\nport = 2\n";
            CHECK(errors_of(network, "stack.toml", env_of({{"NET", name}})) ==
                  "stack.toml:3:8: " + std::string(network_rule) + "'" + name + "'");
        }
    }

    TEST_CASE("image references are never paths") {
        // Models and the balancer alike; the reference goes into engine request paths
        // with its '/' kept, so a "." or ".." part would name another API resource.
        for (const std::string image : {"localhost/../../containers/x", "a/./b", "a//b", "a/", "a/.hidden", "x/-y"}) {
            CAPTURE(image);
            CHECK(errors_of(stack_with("image = " + toml_quoted(image))) ==
                  "stack.toml:4:9: 'image' '" + image + "'" + std::string(image_part_rule));
            CHECK(errors_of("name = \"paths\"\n[services.m]\nimage = \"x\"\nport = 1\n[balancer]\nport = 2\nimage = " +
                            toml_quoted(image) + "\n") ==
                  "stack.toml:7:9: 'image' '" + image + "'" + std::string(image_part_rule));
        }
        // Paths of the file system are not references at all.
        for (const std::string image : {"../x", "./x", "/etc/passwd", ".", ".."}) {
            CAPTURE(image);
            CHECK(errors_of(stack_with("image = " + toml_quoted(image))) ==
                  "stack.toml:4:9: 'image' '" + image +
                      "' is not an image reference: use letters, digits and . _ / : @ -, starting with a letter or "
                      "digit");
        }
        // Through a variable, the result is what is checked.
        CHECK(errors_of(stack_with("image = \"localhost/x:${TAG}\""), "stack.toml", env_of({{"TAG", "1/../../y"}})) ==
              "stack.toml:4:9: 'image' 'localhost/x:1/../../y'" + std::string(image_part_rule));
        // Real references still pass: registry with a port, dots in parts, tags, digests.
        for (const std::string image : {"localhost:5000/shop/recommender:1.0", "docker.io/library/nginx:stable",
                                        "ghcr.io/acme/embed@sha256:abc123", "a/b.c/d_e-f", "nginx"}) {
            CAPTURE(image);
            CHECK(errors_of(stack_with("image = " + toml_quoted(image))) == "no error");
        }
    }

    TEST_CASE("env values and build args are never used as paths, whatever they hold") {
        TempDir dir;
        dir.write("app/Containerfile", "FROM scratch\n");
        const std::string text = stack_with(
            "build = { context = \"app\", args = { FROM_FILE = \"../../etc/passwd\", FROM_VAR = \"${EVIL}\" } }\n"
            "image = \"localhost/paths/m:1\"\n"
            "env = { UP = \"../../etc/passwd\", ABS = \"/etc/shadow\", DOT = \".\", VAR = \"${EVIL}\", "
            "LIST = \"./a:/b\" }");
        const Stack stack = load_stack_text(text, dir.path() / "stack.toml", env_of({{"EVIL", "../../../root/.ssh"}}));
        const Service& m = stack.services.at(0);
        CHECK(m.env == std::map<std::string, std::string>{{"ABS", "/etc/shadow"},
                                                          {"DOT", "."},
                                                          {"LIST", "./a:/b"},
                                                          {"UP", "../../etc/passwd"},
                                                          {"VAR", "../../../root/.ssh"}});
        REQUIRE(m.build.has_value());
        CHECK(m.build->args == std::map<std::string, std::string>{{"FROM_FILE", "../../etc/passwd"},
                                                                  {"FROM_VAR", "../../../root/.ssh"}});
        CHECK(m.build->context == dir.path() / "app");
        CHECK(m.build->dockerfile == "Containerfile");
        CHECK(m.volumes.empty());
        // What the engine is asked for: the values stay environment text, and no mount appears.
        const engine::ContainerSpec spec = plan::replica_spec(stack, m, 1, "");
        CHECK(spec.env == m.env);
        CHECK(spec.mounts.empty());
        CHECK(spec.image == "localhost/paths/m:1");
    }

    TEST_CASE("a variable in a volume is a path only as the text it gives would be") {
        TempDir dir;
        dir.folder("stacks/data");
        dir.folder("elsewhere/data");
        const fs::path file = dir.path() / "stacks" / "stack.toml";
        const std::string text = stack_with("image = \"x\"\nvolumes = [\"${SRC}:/data\"]");
        InFolder cwd(dir.path() / "elsewhere");  // holds a decoy "data" that must not be used
        auto source_for = [&](const std::string& value) {
            const Stack stack = load_stack_text(text, file, env_of({{"SRC", value}}));
            return std::pair(stack.services.at(0).volumes.at(0).source, stack.services.at(0).volumes.at(0).is_bind);
        };
        // Starting with '.' or '/': a host path, resolved against the stack file's folder.
        CHECK(source_for("./data") == std::pair((dir.path() / "stacks" / "data").string(), true));
        CHECK(source_for("../elsewhere/data") == std::pair((dir.path() / "elsewhere" / "data").string(), true));
        // Anything else: a named volume, never a folder of the current directory.
        CHECK(source_for("data") == std::pair(std::string("data"), false));
        CHECK(errors_of(text, file, env_of({{"SRC", "data/x"}})) ==
              file.string() +
                  ":5:12: volume source 'data/x' must be a host path starting with '.' or '/', or a volume name of "
                  "letters, digits, '_', '.' and '-'");
    }

    TEST_CASE("the dockerfile must stay inside the build context") {
        TempDir dir;
        dir.write("app/Containerfile", "FROM scratch\n");
        dir.write("app/docker/Containerfile.prod", "FROM scratch\n");
        dir.write("outside/Dockerfile", "FROM scratch\n");
        const fs::path file = dir.path() / "stack.toml";
        const std::string context = (dir.path() / "app").string();
        auto with_dockerfile = [](const std::string& dockerfile) {
            return stack_with("build = { context = \"app\", dockerfile = " + toml_quoted(dockerfile) + " }");
        };
        SUBCASE("written with '..' or as an absolute path: refused at its position") {
            const std::vector<std::string> refused{"../../etc/passwd",
                                                   "/etc/passwd",
                                                   "../outside/Dockerfile",
                                                   "docker/../../outside/Dockerfile",
                                                   (dir.path() / "outside" / "Dockerfile").string(),
                                                   "../app/Containerfile",
                                                   context + "/Containerfile"};
            for (const auto& dockerfile : refused) {
                CAPTURE(dockerfile);
                CHECK(errors_of(with_dockerfile(dockerfile), file) ==
                      file.string() + ":4:41: dockerfile '" + dockerfile + "' is not a file inside the build context " +
                          context);
            }
        }
        SUBCASE("inside, written any way: kept relative to the context") {
            const std::vector<std::pair<std::string, std::string>> kept_as{
                {"docker/Containerfile.prod", "docker/Containerfile.prod"},
                {"./docker/../Containerfile", "Containerfile"},
                {"docker//Containerfile.prod", "docker/Containerfile.prod"}};
            for (const auto& [dockerfile, kept] : kept_as) {
                CAPTURE(dockerfile);
                const Stack stack = load_stack_text(with_dockerfile(dockerfile), file, env_of({}));
                CHECK(stack.services.at(0).build->dockerfile == kept);
            }
        }
        SUBCASE("a link inside the context that leads out of it: refused, whichever way it points") {
            dir.link("app/abs-link", dir.path() / "outside" / "Dockerfile");
            dir.link("app/rel-link", "../outside/Dockerfile");
            dir.link("app/etc", "/etc");
            dir.link("app/up", "../outside");
            const std::string target = (dir.path() / "outside" / "Dockerfile").string();
            for (const std::string dockerfile : {"abs-link", "rel-link", "up/Dockerfile"}) {
                CAPTURE(dockerfile);
                CHECK(errors_of(with_dockerfile(dockerfile), file) ==
                      file.string() + ":4:41: dockerfile '" + dockerfile + "' leads out of the build context " +
                          context + " through a symbolic link (to " + target +
                          "); the engine would read that file: put the dockerfile itself in the context");
            }
            if (fs::is_regular_file("/etc/passwd")) {
                CHECK(errors_of(with_dockerfile("etc/passwd"), file)
                          .find("dockerfile 'etc/passwd' leads out of the build context") != std::string::npos);
            }
        }
        SUBCASE("a Containerfile found by default that is a link out: refused at 'build'") {
            fs::remove(dir.path() / "app" / "Containerfile");
            dir.link("app/Containerfile", dir.path() / "outside" / "Dockerfile");
            CHECK(errors_of(stack_with("build = \"app\""), file) ==
                  file.string() + ":4:9: dockerfile 'Containerfile' leads out of the build context " + context +
                      " through a symbolic link (to " + (dir.path() / "outside" / "Dockerfile").string() +
                      "); the engine would read that file: put the dockerfile itself in the context");
        }
        SUBCASE("a link that stays inside the context is fine") {
            fs::remove(dir.path() / "app" / "Containerfile");
            dir.link("app/Containerfile", "docker/Containerfile.prod");
            dir.link("app/abs-inside", dir.path() / "app" / "docker" / "Containerfile.prod");
            CHECK(load_stack_text(stack_with("build = \"app\""), file, env_of({})).services.at(0).build->dockerfile ==
                  "Containerfile");
            CHECK(load_stack_text(with_dockerfile("abs-inside"), file, env_of({})).services.at(0).build->dockerfile ==
                  "abs-inside");
        }
    }

    TEST_CASE("a build context that is a link is followed, and its dockerfile must stay in it") {
        TempDir dir;
        dir.write("real/app/Containerfile", "FROM scratch\n");
        dir.link("project/app", "../real/app");
        const fs::path file = dir.path() / "project" / "stack.toml";
        // The context keeps the path as written (the link); the tar is made from where it points.
        const Stack stack = load_stack_text(stack_with("build = \"./app\""), file, env_of({}));
        CHECK(stack.services.at(0).build->context == dir.path() / "project" / "app");
        CHECK(stack.services.at(0).build->dockerfile == "Containerfile");
        // "Inside" means inside the folder the link leads to.
        dir.write("real/Dockerfile", "FROM scratch\n");
        dir.link("real/app/parent", "../Dockerfile");
        CHECK(errors_of(stack_with("build = { context = \"app\", dockerfile = \"parent\" }"), file)
                  .find("dockerfile 'parent' leads out of the build context") != std::string::npos);
    }

    TEST_CASE("volume host paths: against the stack file's folder, '..' as written, missing ones refused") {
        TempDir dir;
        dir.folder("project/models");
        dir.folder("shared");
        dir.folder("cwd/only-here");  // exists only in the current folder
        const fs::path file = dir.path() / "project" / "stack.toml";
        InFolder cwd(dir.path() / "cwd");
        const Stack stack = load_stack_text(
            stack_with("image = \"x\"\nvolumes = [\"./models:/models:ro\", \"../shared:/shared\", \"/:/host:ro\", "
                       "\"models-cache:/cache\"]"),
            file, env_of({}));
        const auto& volumes = stack.services.at(0).volumes;
        REQUIRE(volumes.size() == 4);
        CHECK(volumes[0].source == (dir.path() / "project" / "models").string());
        CHECK(volumes[1].source == (dir.path() / "shared").string());  // the user wrote "..": taken as written
        CHECK(volumes[2].source == "/");                               // and an absolute path as it is
        CHECK(volumes[3].source == "models-cache");
        CHECK_FALSE(volumes[3].is_bind);
        // A folder of the current directory is not a folder of the stack's.
        CHECK(errors_of(stack_with("image = \"x\"\nvolumes = [\"./only-here:/x\"]"), file) ==
              file.string() + ":5:12: volume source './only-here' does not exist (looked for " +
                  (dir.path() / "project" / "only-here").string() + ")");
        CHECK(errors_of(stack_with("image = \"x\"\nvolumes = [\"../nowhere:/x\"]"), file) ==
              file.string() + ":5:12: volume source '../nowhere' does not exist (looked for " +
                  (dir.path() / "nowhere").string() + ")");
    }

    TEST_CASE("relative paths resolve against the stack file's folder, whatever the current folder is") {
        TempDir dir;
        dir.write("project/stack.toml", stack_with("build = \"app\"\nvolumes = [\"./models:/models\", "
                                                   "\"../shared:/shared\"]"));
        dir.write("project/app/Containerfile", "FROM scratch\n");
        dir.folder("project/models");
        dir.folder("shared");
        // Decoys where a resolution against the current folder would land.
        dir.write("elsewhere/app/Containerfile", "FROM scratch\n");
        dir.folder("elsewhere/models");
        const fs::path project = dir.path() / "project";
        for (const auto& [cwd, written] :
             std::vector<std::pair<fs::path, fs::path>>{{project, "stack.toml"},
                                                        {dir.path() / "elsewhere", "../project/stack.toml"},
                                                        {project / "app", "../stack.toml"},
                                                        {dir.path(), "project/./app/../stack.toml"},
                                                        {"/", project / "stack.toml"}}) {
            CAPTURE(cwd);
            CAPTURE(written);
            InFolder in(cwd);
            const Stack stack = load_stack_file(written, env_of({}));
            CHECK(stack.file == project / "stack.toml");
            CHECK(stack.dir == project);
            const Service& m = stack.services.at(0);
            REQUIRE(m.build.has_value());
            CHECK(m.build->context == project / "app");
            REQUIRE(m.volumes.size() == 2);
            CHECK(m.volumes[0].source == (project / "models").string());
            CHECK(m.volumes[1].source == (dir.path() / "shared").string());
            // `mldeploy config` prints the resolved, absolute paths.
            const std::string shown = to_toml(stack, true);
            CHECK(shown.find("context = '" + (project / "app").string() + "'") != std::string::npos);
            CHECK(shown.find((project / "models").string() + ":/models") != std::string::npos);
        }
    }
}
