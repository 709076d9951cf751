#include "deploy/session.hpp"

#include "deploy/build_hash.hpp"
#include "deploy/errors.hpp"
#include "deploy/stack_state.hpp"
#include "plan/gpus.hpp"
#include "plan/labels.hpp"
#include "plan/specs.hpp"

#include <fmt/format.h>

#include <map>

namespace mldeploy::deploy {
namespace {

plan::DesiredHashes desired_hashes(const stack::Stack& stack, const ImageIds& ids) {
    plan::DesiredHashes hashes;
    for (const auto& service : stack.services)
        hashes.service[service.name] =
            plan::replica_spec(stack, service, 1, ids.services.at(service.name)).labels.at(plan::label::config_hash);
    hashes.balancer = plan::balancer_spec(stack, ids.balancer).labels.at(plan::label::config_hash);
    return hashes;
}

// The build args the balancer keeps are placeholders: such a stack cannot build.
bool has_kept_args(const stack::Service& service) {
    if (!service.build) return false;
    for (const auto& [key, value] : service.build->args)
        if (value == kValueInReplicas) return true;
    return false;
}

}  // namespace

bool DeployPlan::empty() const {
    for (const auto& step : images)
        if (step.action != ImageStep::Action::use) return false;
    return containers.empty();
}

Session::Session(engine::Engine& engine, const stack::Stack& stack, util::Output& out, SessionOptions options,
                 Collaborators with)
    : engine_(engine), stack_(stack), out_(out), options_(std::move(options)), with_(with) {}

plan::Plan Session::plan_containers(const ImageIds& ids, const plan::Observed& observed) const {
    return plan::make_plan(
        stack_, observed, desired_hashes(stack_, ids),
        plan::PlanOptions{options_.replica_counts, options_.counts_only, options_.drain, options_.restart});
}

ImagePlan plan_images(engine::Engine& engine, const stack::Stack& stack, BuildPolicy build, bool counts_only) {
    ImagePlan p;
    std::map<std::string, std::string> built_by;  // build_key -> the first service with that build
    for (const auto& service : stack.services) {
        ImageStep step{service.name, service.image, ImageStep::Action::use, {}, {}};
        const auto image = engine.inspect_image(service.image);
        if (service.build && !counts_only) {
            if (build == BuildPolicy::always) {
                step.action = ImageStep::Action::build;
                step.reason = "--build";
            } else if (!image) {
                step.action = ImageStep::Action::build;
                step.reason = "no such image yet";
            } else {
                const auto it = image->labels.find(plan::label::build_hash);
                if (it == image->labels.end() || it->second != build_hash(*service.build)) {
                    step.action = ImageStep::Action::build;
                    step.reason = "its build context, dockerfile or args changed";
                }
            }
        } else if (!image) {
            step.action = service.build ? ImageStep::Action::build : ImageStep::Action::pull;
            step.reason = "the engine has no such image";
            if (service.build && has_kept_args(service))
                throw DeployError(
                    fmt::format("image {} of service {} is missing and its build args are not kept on "
                                "the engine; run this command with the stack file (-f)",
                                service.image, service.name));
        }
        if (service.build) {
            const auto [first, inserted] = built_by.emplace(build_key(*service.build), service.name);
            if (!inserted && step.action == ImageStep::Action::build) {
                step.action = ImageStep::Action::reuse;
                step.same_as = first->second;
            }
        }
        p.ids.services[service.name] = step.action == ImageStep::Action::use ? image->id : std::string(kPendingImage);
        p.steps.push_back(std::move(step));
    }
    const auto balancer = engine.image_id(stack.balancer.image);
    p.steps.push_back({"",
                       stack.balancer.image,
                       balancer ? ImageStep::Action::use : ImageStep::Action::pull,
                       balancer ? "" : "the engine has no such image",
                       {}});
    p.ids.balancer = balancer.value_or(kPendingImage);
    return p;
}

std::vector<std::string> describe_images(const std::vector<ImageStep>& steps) {
    std::vector<std::string> lines;
    for (const auto& step : steps) {
        if (step.action == ImageStep::Action::build)
            lines.push_back(fmt::format("build image {} ({})", step.reference, step.reason));
        else if (step.action == ImageStep::Action::pull)
            lines.push_back(fmt::format("pull image {} ({})", step.reference, step.reason));
        else if (step.action == ImageStep::Action::reuse)
            lines.push_back(
                fmt::format("use the image of service {} for {} (the same build)", step.same_as, step.reference));
    }
    return lines;
}

ImageIds run_image_steps(engine::Engine& engine, const stack::Stack& stack, const ImagePlan& plan, util::Output& out) {
    ImageIds ids = plan.ids;
    for (const auto& step : plan.steps) {
        auto& id = step.service.empty() ? ids.balancer : ids.services[step.service];
        if (step.action == ImageStep::Action::build) {
            id = build_service_image(engine, *stack.find_service(step.service), out);
        } else if (step.action == ImageStep::Action::pull) {
            id = ensure_image(engine, step.reference, out);
        } else if (step.action == ImageStep::Action::reuse) {
            // Built once, for the first service: the same image under this one's name too.
            id = ids.services.at(step.same_as);
            if (step.reference != stack.find_service(step.same_as)->image) engine.tag_image(id, step.reference);
            out.step(
                fmt::format("using the image of service {} for {} (the same build)", step.same_as, step.reference));
        } else if (!step.service.empty() && stack.find_service(step.service)->build) {
            out.step(fmt::format("image {} is up to date (context unchanged)", step.reference));
        }
    }
    return ids;
}

DeployPlan Session::plan() {
    // Before anything else: too few GPUs is a fault of the stack file (or of
    // scale's count), found before any build, and nothing is changed.
    if (plan::asks_for_gpus(stack_)) plan::check_gpus(stack_, engine_.gpus(), options_.replica_counts);
    DeployPlan p;
    auto images = plan_images(engine_, stack_, options_.build, options_.counts_only);
    p.images = std::move(images.steps);
    p.image_ids = std::move(images.ids);
    p.observed = observe_stack(engine_, stack_);
    p.containers = plan_containers(p.image_ids, p.observed);
    return p;
}

std::vector<std::string> Session::describe(const DeployPlan& p) const {
    auto lines = describe_images(p.images);
    auto containers = plan::describe(stack_, p.containers);
    if (!lines.empty() && p.containers.empty()) return lines;
    lines.insert(lines.end(), containers.begin(), containers.end());
    return lines;
}

void Session::apply(const DeployPlan& p) {
    // traffic: the images are those running; "up to date" lines would only be noise.
    util::Output quiet(util::Output::Level::quiet, false);
    const ImageIds ids =
        run_image_steps(engine_, stack_, ImagePlan{p.images, p.image_ids}, options_.routes_only ? quiet : out_);
    // With the ids known the plan can only have lost replacements (a build
    // that gave the image the service already runs), never gained any.
    const auto containers = plan_containers(ids, p.observed);
    if (containers.empty()) {
        if (!options_.routes_only) out_.step("no changes: the stack is up to date");
    } else {
        for (const auto& line : plan::describe(stack_, containers)) out_.detail("plan: " + line);
    }
    Executor(engine_, stack_, out_, with_).apply(containers, p.observed, ids);
}

}  // namespace mldeploy::deploy
