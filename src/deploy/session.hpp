// One pipeline for every command that changes a stack (up, up --dry-run,
// scale): decide the image steps (build, pull, use), observe the engine, plan
// the containers, and print or execute that plan. The plan is the whole plan:
// `up --dry-run` prints exactly what `up` then does.
#pragma once

#include "deploy/executor.hpp"
#include "deploy/images.hpp"
#include "engine/engine.hpp"
#include "plan/plan.hpp"
#include "stack/model.hpp"
#include "util/output.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mldeploy::deploy {

struct SessionOptions {
    BuildPolicy build = BuildPolicy::when_changed;
    // scale: only counts change; images are those on the engine, built or pulled only when missing.
    bool counts_only = false;
    // traffic: the balancer's routes change (a live split), not the containers:
    // no "no changes" line when the containers stay as they are.
    bool routes_only = false;
    std::map<std::string, int> replica_counts;
    std::optional<std::chrono::milliseconds> drain;  // --drain: overrides every service's budget
    // restart: every replica of these services is rolled to a fresh container, as an update is.
    std::set<std::string> restart;
};

// What happens to one image before the containers change.
struct ImageStep {
    enum class Action { use, build, pull, reuse };
    std::string service;  // empty for the balancer's image
    std::string reference;
    Action action = Action::use;
    std::string reason;   // why a build or pull is needed
    std::string same_as;  // reuse: the service built from the same context, dockerfile and args
};

struct DeployPlan {
    std::vector<ImageStep> images;
    ImageIds image_ids;  // as known now; a service whose image is built or pulled has a placeholder
    plan::Observed observed;
    plan::Plan containers;

    bool empty() const;
};

// The image steps of a stack, and the ids as known before they run (a service
// whose image is built or pulled first has kPendingImage). Shared by both
// targets: the engine's Session and the swarm's SwarmSession.
struct ImagePlan {
    std::vector<ImageStep> steps;
    ImageIds ids;
};
ImagePlan plan_images(engine::Engine& engine, const stack::Stack& stack, BuildPolicy build, bool counts_only);
// The steps' lines, as `up --dry-run` prints them ("build image ...").
std::vector<std::string> describe_images(const std::vector<ImageStep>& steps);
// Runs the steps (build, pull, tag a shared build); returns the ids the images now have.
ImageIds run_image_steps(engine::Engine& engine, const stack::Stack& stack, const ImagePlan& plan, util::Output& out);

class Session {
public:
    Session(engine::Engine& engine, const stack::Stack& stack, util::Output& out, SessionOptions options,
            Collaborators with = {});

    // Reads the engine; changes nothing.
    DeployPlan plan();
    // The plan's lines, as `up --dry-run` prints them.
    std::vector<std::string> describe(const DeployPlan& plan) const;
    // Runs the image steps, then the container plan, with the ids the images now have.
    void apply(const DeployPlan& plan);

private:
    plan::Plan plan_containers(const ImageIds& ids, const plan::Observed& observed) const;

    engine::Engine& engine_;
    const stack::Stack& stack_;
    util::Output& out_;
    SessionOptions options_;
    Collaborators with_;
};

// Stands for the id of an image that the plan builds or pulls first: it
// matches no container's, so every running replica of that service is replaced.
inline constexpr const char* kPendingImage = "pending";

}  // namespace mldeploy::deploy
