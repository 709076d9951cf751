// The labels that tie engine objects to a stack (CONTRACT.md "What it leaves on
// the engine"), plus mldeploy's own bookkeeping labels.
#pragma once

namespace mldeploy::plan::label {

inline constexpr const char* stack = "io.mldeploy.stack";
inline constexpr const char* role = "io.mldeploy.role";
inline constexpr const char* service = "io.mldeploy.service";
inline constexpr const char* replica = "io.mldeploy.replica";
// Hash of everything that, when changed, needs a new container.
inline constexpr const char* config_hash = "io.mldeploy.config-hash";
// The replica's port and health path, so that commands given only -s can probe it.
inline constexpr const char* port = "io.mldeploy.port";
inline constexpr const char* health_path = "io.mldeploy.health-path";
// The GPUs a replica was given, by device name ("0", "0,1"; plan/gpus.hpp), for `ps` and `top`.
inline constexpr const char* gpus = "io.mldeploy.gpus";
// On an image mldeploy built: the hash of what it was built from
// (deploy/build_hash.hpp), so that an unchanged context needs no build.
inline constexpr const char* build_hash = "io.mldeploy.build-hash";

// On a job's container (`mldeploy run`): the job's name, and which run it is.
inline constexpr const char* job = "io.mldeploy.job";
inline constexpr const char* run = "io.mldeploy.run";

// On the controller when it autoscales ("1"): `ps` then reads its decisions from its log.
inline constexpr const char* autoscale = "io.mldeploy.autoscale";

inline constexpr const char* role_model = "model";
inline constexpr const char* role_job = "job";
inline constexpr const char* role_balancer = "balancer";
// The stack's controller container (`mldeploy agent`): metrics, autoscaling; up and scale plan around it.
inline constexpr const char* role_controller = "controller";

}  // namespace mldeploy::plan::label
