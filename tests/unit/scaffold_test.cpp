// What `mldeploy init` writes: names, requirements mapped to Debian packages, the
// health path found in the server, and a stack.toml the loader accepts as it is.
#include "cmd/scaffold.hpp"
#include "stack/load.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

using namespace mldeploy::cmd;
using mldeploy::test::TempDir;

namespace {

std::string text_of(const std::vector<ScaffoldFile>& files, const std::string& name) {
    for (const auto& f : files)
        if (f.name == name) return f.text;
    FAIL("no file ", name);
    return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a stack name from the folder's name") {
    CHECK(stack_name_for("my-model") == "my-model");
    CHECK(stack_name_for("My Model_v2") == "my-model_v2");
    CHECK(stack_name_for("__x") == "x");
    CHECK(stack_name_for("Ünïcode") == "n-code");
    CHECK(stack_name_for("...") == "model");
    CHECK(stack_name_for(std::string(60, 'a')).size() == 40);
}

TEST_CASE("requirements.txt: names without versions, extras, markers, options") {
    CHECK(requirement_names("# comment\n\nnumpy==1.26\nscikit_learn>=1.3 ; python_version>'3'\n"
                            "uvicorn[standard]\n-r other.txt\n--index-url https://x\nFlask  # web\nnumpy\n") ==
          std::vector<std::string>{"numpy", "scikit-learn", "uvicorn", "flask"});
    CHECK(requirement_names("").empty());
    CHECK(debian_package_for("numpy") == "python3-numpy");
    CHECK(debian_package_for("scikit-learn") == "python3-sklearn");
    CHECK(debian_package_for("Pillow") == "python3-pil");
    CHECK(debian_package_for("PyYAML") == "python3-yaml");
}

TEST_CASE("the health path the server names") {
    CHECK(health_path_in("if self.path == '/healthz':") == "/healthz");
    CHECK(health_path_in("@app.get(\"/health\")") == "/health");
    CHECK(health_path_in("@app.route('/predict')") == std::nullopt);
}

TEST_CASE("the scaffold of a Python server with requirements") {
    ScaffoldInput in;
    in.name = "demo";
    in.port = 5000;
    in.publish = 18210;
    in.server = "app.py";
    in.requirements = "numpy\nscikit-learn==1.3\n";
    const auto files = scaffold(in);
    REQUIRE(files.size() == 3);
    const auto containerfile = text_of(files, "Containerfile");
    CHECK(has(containerfile, "FROM localhost/mldeploy/python:3.11\n"));
    CHECK(has(containerfile,
              "apt-get install -y --no-install-recommends \\\n        python3-numpy \\\n"
              "        python3-sklearn \\\n"));
    CHECK(has(containerfile, "# RUN python3 -m venv /venv && /venv/bin/pip install"));
    CHECK(has(containerfile, "CMD [\"python3\", \"app.py\"]"));
    CHECK(has(containerfile, "EXPOSE 5000"));
    CHECK(has(text_of(files, ".dockerignore"), "\nstack.toml\n"));
    const auto stack = text_of(files, "stack.toml");
    CHECK(has(stack, "port = 18210\n"));
    CHECK(has(stack, "command = [\"python3\", \"app.py\"]\n"));
}

TEST_CASE("without requirements there is no install step; empty requirements say so") {
    ScaffoldInput in;
    in.name = "demo";
    in.server = "server.py";
    CHECK_FALSE(has(text_of(scaffold(in), "Containerfile"), "RUN"));
    in.requirements = "# nothing yet\n";
    const auto containerfile = text_of(scaffold(in), "Containerfile");
    CHECK_FALSE(has(containerfile, "RUN apt-get"));
    CHECK(has(containerfile, "requirements.txt names no package"));
}

TEST_CASE("the stack.toml init writes loads as it is, with and without a server found") {
    TempDir dir;
    for (bool with_server : {true, false}) {
        ScaffoldInput in;
        in.name = "demo";
        in.health_path = "/ping";
        if (with_server) in.server = "server.py";
        for (const auto& f : scaffold(in)) dir.write(f.name, f.text);
        const auto stack = mldeploy::stack::load_stack_file(dir.path() / "stack.toml");
        CHECK(stack.name == "demo");
        REQUIRE(stack.services.size() == 1);
        CHECK(stack.services[0].port == 8000);
        CHECK(stack.services[0].health->path == "/ping");
        CHECK(stack.services[0].build->dockerfile == "Containerfile");
        CHECK(stack.services[0].env.at("PORT") == "8000");
        CHECK(stack.balancer.port == 8080);
        CHECK(stack.services[0].command ==
              (with_server ? std::vector<std::string>{"python3", "server.py"} : std::vector<std::string>{}));
    }
}
