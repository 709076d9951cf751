// A failed build, told alike on both engines: "FILE:LINE: INSTRUCTION: REASON" and
// the last lines of output. The engines' answers are recorded stream bodies
// (data/builds/*.jsonl: Podman 4.3's libpod /build, Docker 20.10's /build) read
// through the same ProgressReader that build_image uses.
#include "engine/build_failure.hpp"
#include "engine/reply.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace mldeploy::engine;

namespace {

// The Containerfile of the recordings (a RUN continued over two lines).
const std::string kRunFails =
    "FROM localhost/mldeploy/python:3.11\n"
    "# a comment\n"
    "RUN echo hello && \\\n"
    "    ls /nonexistent-msgs11\n";

std::string recorded(const std::string& name) {
    std::ifstream in(std::filesystem::path(MLDEPLOY_TEST_DATA) / "builds" / name, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    REQUIRE_FALSE(out.str().empty());
    return out.str();
}

// What build_image says for a recorded stream.
std::string message_for(const std::string& recording, const std::string& dockerfile_text, bool podman) {
    ProgressSink none;
    reply::ProgressReader reader(none);
    reader.feed(recorded(recording));
    reader.finish();
    REQUIRE_FALSE(reader.error().empty());
    auto failure = podman ? parse_podman_build_error(reader.error()) : parse_docker_build_error(reader.error());
    return describe_build_failure(failure, {"model/Containerfile", dockerfile_text, reader.last_step(), reader.tail()});
}

}  // namespace

TEST_SUITE("build failures") {
    TEST_CASE("a failing RUN on Podman: the file, the line, the command's exit code, the output") {
        CHECK(message_for("podman-run-fails.jsonl", kRunFails, true) ==
              "model/Containerfile:3: RUN echo hello && ls /nonexistent-msgs11: the command returned a non-zero "
              "code: 2\n"
              "last lines of output:\n"
              "  STEP 1/3: FROM localhost/mldeploy/python:3.11\n"
              "  STEP 2/3: RUN echo hello &&     ls /nonexistent-msgs11\n"
              "  hello\n"
              "  ls: cannot access '/nonexistent-msgs11': No such file or directory");
    }

    TEST_CASE("the same on Docker reads the same") {
        const auto message = message_for("docker-run-fails.jsonl", kRunFails, false);
        CHECK(
            message.starts_with("model/Containerfile:3: RUN echo hello && ls /nonexistent-msgs11: the command "
                                "returned a non-zero code: 2\nlast lines of output:\n"));
        // Docker's colours for the command's stderr are gone.
        CHECK(message.ends_with("\n  hello\n  ls: cannot access '/nonexistent-msgs11': No such file or directory"));
    }

    TEST_CASE("an unknown instruction on Podman: no Go struct, the line as written") {
        const std::string text = "FROM localhost/mldeploy/python:3.11\n# a comment\nRUNN exit 3\n";
        const auto message = message_for("podman-unknown-instruction.jsonl", text, true);
        CHECK(message ==
              "model/Containerfile:3: RUNN exit 3: unknown instruction: RUNN\n"
              "last lines of output:\n"
              "  STEP 1/2: FROM localhost/mldeploy/python:3.11\n"
              "  STEP 2/2: RUNN exit 3");
        CHECK(message.find("imagebuilder") == std::string::npos);
    }

    TEST_CASE("an unknown instruction on Docker: its parse error's line") {
        const std::string text = "FROM localhost/mldeploy/python:3.11\nRUNN exit 3\n";
        const auto failure = parse_docker_build_error("dockerfile parse error line 2: unknown instruction: RUNN");
        CHECK(failure.line == 2);
        CHECK(describe_build_failure(failure, {"Containerfile", text, "", {}}) ==
              "Containerfile:2: RUNN exit 3: unknown instruction: RUNN");
    }

    TEST_CASE("a COPY of a missing file: Docker's words on Podman") {
        const auto failure = parse_podman_build_error(
            "building at STEP \"COPY nothere /x\": checking on sources under "
            "\"/var/tmp/libpod_builder1621765241/build\": copier: stat: \"/nothere\": no such file or directory\n");
        CHECK(describe_build_failure(failure, {"Containerfile", "FROM x\ncopy  nothere /x\n", "", {}}) ==
              "Containerfile:2: COPY nothere /x: file not found in build context or excluded by .dockerignore: "
              "nothere");
    }

    TEST_CASE("an instruction not found in the file: no line, the engine's text") {
        const auto failure =
            parse_podman_build_error("building at STEP \"RUN $X\": while running runtime: exit status 1");
        CHECK(describe_build_failure(failure, {"", "FROM x\nRUN ${X}\n", "", {}}) ==
              "Containerfile: RUN $X: the command returned a non-zero code: 1");
    }

    TEST_CASE("an error the parsers do not know passes through") {
        CHECK(parse_podman_build_error("something new").reason == "something new");
        CHECK(parse_docker_build_error("Cannot locate specified Dockerfile: Containerfile").reason ==
              "Cannot locate specified Dockerfile: Containerfile");
    }

    TEST_CASE("progress lines name their instruction") {
        CHECK(step_instruction("STEP 2/3: RUN x") == "RUN x");
        CHECK(step_instruction("[2/2] STEP 1/3: FROM y AS z") == "FROM y AS z");
        CHECK(step_instruction("Step 4/4 : RUN exit 3") == "RUN exit 3");
        CHECK_FALSE(step_instruction("hello").has_value());
        CHECK_FALSE(step_instruction("STEP by step: no").has_value());
    }

    TEST_CASE("instruction lines: continued lines, comments, case and spaces") {
        const std::string text = "# syntax\nFROM a AS b\n\nrun  apt-get update && \\\n# inside\n  apt-get install x\n";
        CHECK(instruction_line(text, "FROM a AS b") == 2);
        CHECK(instruction_line(text, "RUN apt-get update &&   apt-get install x") == 4);
        CHECK(instruction_line(text, "RUN other") == 0);
        CHECK(instruction_line("", "RUN x") == 0);
    }
}
