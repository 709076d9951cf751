#pragma once

#include <stdexcept>
#include <string>

namespace mldeploy::deploy {

// A deployment step that failed for a reason that is not an engine call's
// (a replica that never became healthy, a balancer config nginx rejected).
class DeployError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Ctrl-C or SIGTERM stopped the work after it was undone (a canary rolled
// back): the command exits 130.
class Interrupted : public DeployError {
public:
    using DeployError::DeployError;
};

}  // namespace mldeploy::deploy
