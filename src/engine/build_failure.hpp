// A failed build told the same way on both engines: the Containerfile, the line and
// text of the failing instruction, what went wrong in plain words, then the last
// lines of the build's output. Podman's libpod /build says
// `building at STEP "RUN x": while running runtime: exit status 2`, and for an
// unknown instruction appends a Go struct dump (`&imagebuilder.Step{Env:...}`);
// Docker says `The command '/bin/sh -c x' returned a non-zero code: 2` or
// `dockerfile parse error line 2: unknown instruction: RUNN`.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace mldeploy::engine {

// What an engine's build error says, taken apart.
struct BuildFailure {
    std::string instruction;  // the failing instruction as written, when the error names it
    int line = 0;             // its line in the Containerfile, when the engine gives it (Docker's parse errors)
    std::string reason;       // what went wrong, without the instruction
};

BuildFailure parse_podman_build_error(std::string_view error);
BuildFailure parse_docker_build_error(std::string_view error);

// The instruction of a progress line: "STEP 2/3: RUN x" or "[1/2] STEP 2/3: RUN x"
// (Podman), "Step 2/3 : RUN x" (Docker).
std::optional<std::string> step_instruction(std::string_view line);

// Whether a line of build output is worth showing: not Podman's log line that
// dumps the Go struct of an unknown instruction.
bool useful_build_line(std::string_view line);

// The 1-based line where `instruction` starts in the Containerfile's text (joining
// lines continued with '\', ignoring comments, case and runs of spaces); 0 when
// no instruction matches.
int instruction_line(std::string_view dockerfile_text, std::string_view instruction);

struct BuildFailureContext {
    std::string dockerfile_label;  // the file as the user knows it; empty: "Containerfile"
    std::string dockerfile_text;   // empty: no line numbers
    std::string last_step;         // the instruction of the last progress line, if any
    std::deque<std::string> tail;  // the last lines of output
};

// "FILE:LINE: INSTRUCTION: REASON", then the last lines of output.
std::string describe_build_failure(BuildFailure failure, const BuildFailureContext& context);

}  // namespace mldeploy::engine
