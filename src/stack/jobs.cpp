// [jobs.<name>]: run-to-completion containers. Their keys are a service's
// (build, image, command, env, volumes, resources), read by the same code.
#include "stack/checks.hpp"
#include "stack/keys.hpp"
#include "stack/rules.hpp"
#include "stack/sections.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mldeploy::stack::detail {
namespace {

void check_job_name(Context& ctx, const std::string& name, const SourcePos& pos, const std::vector<Service>& services) {
    if (!is_valid_name(name)) {
        ctx.error(pos, fmt::format("job name {} is not valid: use lowercase letters, digits, '-' and '_', "
                                   "starting with a letter or digit, at most {} characters",
                                   in_quotes(name), max_name_length));
        return;
    }
    // One name space: a job's name is in its container's name and default image tag.
    if (std::any_of(services.begin(), services.end(), [&](const Service& s) { return s.name == name; }))
        ctx.error(pos, fmt::format("job name {} is also a service's name: give the job another name", in_quotes(name)));
}

Job read_job(const TableReader& jobs, const toml::key& name, const toml::table& table, const std::string& stack_name,
             const std::vector<Service>& services) {
    Context& ctx = jobs.context();
    TableReader reader(ctx, table, jobs.child(name.str()));
    reader.allow_only(keys::job);
    Job job;
    job.name = name.str();
    job.pos = reader.pos();
    check_job_name(ctx, job.name, job.pos, services);
    job.build = read_build(reader);
    job.image = read_image(reader, stack_name, job.name, reader.find("build") != nullptr);
    job.command = read_command(reader);
    job.env = read_variables(reader, "env");
    job.volumes = read_volumes(reader);
    job.resources = read_resources(reader);
    if (auto timeout = duration_at_least(reader, "timeout", Millis{1})) job.timeout = *timeout;
    return job;
}

}  // namespace

std::vector<Job> read_jobs(const TableReader& top, const std::string& stack_name,
                           const std::vector<Service>& services) {
    std::vector<Job> jobs;
    const toml::table* table = top.subtable("jobs");
    if (table == nullptr) return jobs;
    TableReader reader(top.context(), *table, "jobs");
    for (const auto& [name, value] : reader.entries_in_order()) {
        if (const auto* job = value->as_table())
            jobs.push_back(read_job(reader, *name, *job, stack_name, services));
        else
            reader.wrong_type(name->str(), *value, "a table ([" + reader.child(name->str()) + "])");
    }
    return jobs;
}

}  // namespace mldeploy::stack::detail
