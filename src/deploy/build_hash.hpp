// The build hash: a digest of everything a build of a service reads, except its
// base images. An image mldeploy builds records it (label io.mldeploy.build-hash),
// so that `up` can tell an image that is already what a build would give from
// one that needs a build, without sending the context.
#pragma once

#include "stack/model.hpp"

#include <string>

namespace mldeploy::deploy {

// The label's value for `build` as its context is now: the context as the
// engine gets it (after .dockerignore: each path, its type, permission bits,
// file bytes, link target; the Dockerfile and .dockerignore themselves are part
// of it), the dockerfile's name and the build args. Not the modification times:
// neither engine's layer cache looks at them, so a touched file builds the same
// image. Throws std::runtime_error naming a file that could not be read.
std::string build_hash(const stack::Build& build);

// The tar to send and the build hash of exactly what it holds, from one walk.
struct PackedContext {
    std::string tar;
    std::string hash;
};
PackedContext pack_build_context(const stack::Build& build);

}  // namespace mldeploy::deploy
