// [jobs.<name>]: loaded with a service's keys, checked like a service, printed by
// `config` with secrets redacted, described by the schema.
#include "stack/keys.hpp"
#include "stack/load.hpp"
#include "stack/schema.hpp"
#include "stack/serialize.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <map>

using namespace std::chrono_literals;
using namespace mldeploy::stack;

namespace {

EnvLookup no_env() {
    return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

std::string errors_of(std::string_view text) {
    try {
        load_stack_text(text, "stack.toml", no_env());
    } catch (const StackError& e) {
        return e.what();
    }
    return "no error";
}

// A valid stack of one service; `job_lines` start at line 7.
std::string with_jobs(std::string_view job_lines) {
    return "name = \"movies\"\n"
           "[services.recommender]\n"
           "image = \"localhost/movies/recommender:1\"\n"
           "port = 5000\n"
           "[balancer]\n"
           "port = 8080\n" +
           std::string(job_lines) + "\n";
}

}  // namespace

TEST_SUITE("stack: jobs") {
    TEST_CASE("a job with every key fills every field") {
        mldeploy::test::TempDir dir;
        dir.write("train/Containerfile", "FROM scratch\n");
        dir.folder("artifacts");
        const auto root = dir.path();
        const auto stack = load_stack_text(with_jobs(R"([jobs.train]
build = { context = "train", args = { EPOCHS = "3" } }
image = "localhost/movies/train:2"
command = ["python3", "train.py"]
env = { API_TOKEN = "s3cret", MODE = "full" }
volumes = ["./artifacts:/out", "data:/data:ro"]
resources = { cpus = 2, memory = "1g", gpus = "all" }
timeout = "2h"
[jobs.score]
image = "localhost/movies/score:1"
)"),
                                           root / "stack.toml", no_env());
        REQUIRE(stack.jobs.size() == 2);
        const auto& train = stack.jobs[0];
        CHECK(train.name == "train");
        REQUIRE(train.build);
        CHECK(train.build->context == root / "train");
        CHECK(train.build->args.at("EPOCHS") == "3");
        CHECK(train.image == "localhost/movies/train:2");
        CHECK(train.command == std::vector<std::string>{"python3", "train.py"});
        CHECK(train.env.at("MODE") == "full");
        REQUIRE(train.volumes.size() == 2);
        CHECK(train.volumes[0].source == (root / "artifacts").string());
        CHECK(train.volumes[0].target == "/out");
        CHECK_FALSE(train.volumes[1].is_bind);
        CHECK(train.volumes[1].options == "ro");
        CHECK(train.resources.cpus == 2.0);
        CHECK(train.resources.memory_bytes == 1024LL * 1024 * 1024);
        CHECK(train.resources.gpus == "all");
        CHECK(train.timeout == std::chrono::milliseconds(2h));
        CHECK(train.pos.line == 7);
        CHECK(stack.jobs[1].name == "score");
        CHECK_FALSE(stack.jobs[1].timeout);
        CHECK(stack.find_job("score") == &stack.jobs[1]);
        CHECK(stack.find_job("recommender") == nullptr);
    }

    TEST_CASE("a built job without an image gets the stack's default tag") {
        mldeploy::test::TempDir dir;
        dir.write("train/Containerfile", "FROM scratch\n");
        const auto stack =
            load_stack_text(with_jobs("[jobs.train]\nbuild = \"train\"\n"), dir.path() / "stack.toml", no_env());
        CHECK(stack.jobs.at(0).image == "localhost/movies/train:latest");
    }

    TEST_CASE("the stack file inside a job's build context is left out of it") {
        mldeploy::test::TempDir dir;
        dir.write("Containerfile", "FROM scratch\n");
        const auto stack =
            load_stack_text(with_jobs("[jobs.train]\nbuild = \".\"\n"), dir.path() / "stack.toml", no_env());
        CHECK(stack.jobs.at(0).build->ignore == std::vector<std::string>{"stack.toml"});
    }

    TEST_CASE("no jobs: none") { CHECK(load_stack_text(with_jobs(""), "stack.toml", no_env()).jobs.empty()); }
}

TEST_SUITE("stack errors: jobs") {
    TEST_CASE("an unknown key, with a near miss") {
        CHECK(errors_of(with_jobs("[jobs.train]\nimage = \"a/b:1\"\ncomand = [\"x\"]")) ==
              "stack.toml:9:1: unknown key 'comand' in [jobs.train]; did you mean 'command'?");
    }

    TEST_CASE("service-only keys are not a job's") {
        CHECK(errors_of(with_jobs("[jobs.train]\nimage = \"a/b:1\"\nport = 5000"))
                  .starts_with("stack.toml:9:1: unknown key 'port' in [jobs.train]"));
    }

    TEST_CASE("wrong types") {
        CHECK(errors_of(with_jobs("[jobs.train]\nimage = \"a/b:1\"\ntimeout = 5")) ==
              "stack.toml:9:11: 'timeout' must be a duration such as \"2s\" or \"500ms\", not an integer");
        CHECK(errors_of(with_jobs("[jobs.train]\nimage = \"a/b:1\"\ncommand = \"python3 train.py\"")) ==
              "stack.toml:9:11: 'command' must be an array of strings, one per argument, such as command = "
              "[\"python3\", \"train.py\"]");
        CHECK(errors_of("jobs = 3\n" + with_jobs("")) == "stack.toml:1:8: 'jobs' must be a table, not an integer");
        CHECK(errors_of(with_jobs("[jobs]\ntrain = \"x\"")) ==
              "stack.toml:8:9: 'train' must be a table ([jobs.train]), not a string");
    }

    TEST_CASE("resources are checked as a service's") {
        CHECK(errors_of(with_jobs("[jobs.train]\nimage = \"a/b:1\"\nresources = { cpus = 0 }")) ==
              "stack.toml:9:22: 'cpus' must be more than 0 and at most 1024, not 0");
    }

    TEST_CASE("neither image nor build") {
        CHECK(errors_of(with_jobs("[jobs.train]\ncommand = [\"x\"]")) ==
              "stack.toml:7:1: missing 'image' in [jobs.train]: set the image to run, or 'build' to build one");
    }

    TEST_CASE("names: the service rule, and no service's name") {
        CHECK(errors_of(with_jobs("[jobs.Train]\nimage = \"a/b:1\"")) ==
              "stack.toml:7:1: job name 'Train' is not valid: use lowercase letters, digits, '-' and '_', starting "
              "with a letter or digit, at most 40 characters");
        CHECK(errors_of(with_jobs("[jobs.recommender]\nimage = \"a/b:1\"")) ==
              "stack.toml:7:1: job name 'recommender' is also a service's name: give the job another name");
    }

    TEST_CASE("a timeout of zero") {
        CHECK(errors_of(with_jobs("[jobs.train]\nimage = \"a/b:1\"\ntimeout = \"0s\"")) ==
              "stack.toml:9:11: 'timeout' must be at least 1ms, not 0s");
    }
}

TEST_SUITE("stack: jobs in config and schema") {
    const std::string text = with_jobs(R"([jobs.train]
image = "localhost/movies/train:2"
env = { API_TOKEN = "s3cret", MODE = "full" }
timeout = "90s")");

    TEST_CASE("config's TOML prints the job, its secrets redacted") {
        const auto stack = load_stack_text(text, "/srv/stack.toml", no_env());
        const auto toml = to_toml(stack, true);
        CHECK(toml.find("[jobs.train]") != std::string::npos);
        CHECK(toml.find("API_TOKEN = '***'") != std::string::npos);
        CHECK(toml.find("MODE = 'full'") != std::string::npos);
        CHECK(toml.find("s3cret") == std::string::npos);
        CHECK(toml.find("timeout = '90s'") != std::string::npos);
        CHECK(to_toml(stack, false).find("s3cret") != std::string::npos);
        // The printed stack loads again, to the same job.
        const auto again = load_stack_text(to_toml(stack, false), "/srv/stack.toml", no_env());
        REQUIRE(again.jobs.size() == 1);
        CHECK(again.jobs[0].env == stack.jobs[0].env);
        CHECK(again.jobs[0].timeout == stack.jobs[0].timeout);
    }

    TEST_CASE("config's JSON: jobs apart from the stack JSON the balancer keeps") {
        const auto stack = load_stack_text(text, "/srv/stack.toml", no_env());
        const auto jobs = jobs_to_json(stack, true);
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0]["name"] == "train");
        CHECK(jobs[0]["env"]["API_TOKEN"] == "***");
        CHECK(jobs[0]["timeout_ms"] == 90000);
        CHECK_FALSE(to_json(stack, false).contains("jobs"));
    }

    TEST_CASE("the schema knows every job key") {
        const auto schema = stack_schema();
        const auto& job = schema["properties"]["jobs"]["additionalProperties"];
        for (const auto& key : keys::job) CHECK_MESSAGE(job["properties"].contains(key), key);
        CHECK(job["additionalProperties"] == false);
    }
}
