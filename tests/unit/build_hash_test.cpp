#include "deploy/build_hash.hpp"
#include "util/tar.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using mldeploy::deploy::build_hash;
using mldeploy::deploy::pack_build_context;
using mldeploy::stack::Build;

namespace {

// A small build context: a Dockerfile, code, a sub-folder, and files that the
// .dockerignore keeps out (*.log, data/).
struct Context {
    fs::path path;
    Context() {
        std::string templ = (fs::temp_directory_path() / "mldeploy-build-hash-XXXXXX").string();
        REQUIRE(mkdtemp(templ.data()) != nullptr);
        path = templ;
        write("Dockerfile", "FROM base\nCOPY . /app\n");
        write("Dockerfile.alt", "FROM base\nCOPY . /app\n");
        write("server.py", "print('hello')\n");
        write("pkg/util.py", "X = 1\n");
        write("run.sh", "#!/bin/sh\n", 0755);
        write(".dockerignore", "*.log\ndata/\n");
        write("debug.log", "noise\n");
        write("data/weights.bin", "big\n");
    }
    ~Context() { fs::remove_all(path); }
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    void write(const std::string& rel, const std::string& content, unsigned mode = 0644) const {
        const auto file = path / rel;
        fs::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
        ::chmod(file.c_str(), mode);
    }
    Build build(std::string dockerfile = "Dockerfile", std::map<std::string, std::string> args = {}) const {
        return Build{path, std::move(dockerfile), std::move(args), {}};
    }
    std::string hash() const { return build_hash(build()); }
};

}  // namespace

TEST_CASE("build hash: stable") {
    Context ctx;
    const std::string first = ctx.hash();
    CHECK(first.starts_with("sha256:"));
    CHECK(first.size() == 7 + 64);
    CHECK(ctx.hash() == first);

    SUBCASE("the same files elsewhere give the same hash: the folder's own path is not in it") {
        Context other;
        CHECK(other.hash() == first);
    }
    SUBCASE("modification times are not in it (the engines' layer caches ignore them too)") {
        const auto file = ctx.path / "server.py";
        fs::last_write_time(file, fs::last_write_time(file) - std::chrono::hours(24));
        fs::last_write_time(ctx.path / "pkg", fs::last_write_time(ctx.path / "pkg") - std::chrono::hours(24));
        CHECK(ctx.hash() == first);
    }
    SUBCASE("the hash of the tar that is sent is the same") {
        const auto packed = pack_build_context(ctx.build());
        CHECK(packed.hash == first);
        CHECK(packed.tar == mldeploy::util::tar_directory(ctx.path, mldeploy::util::read_dockerignore(ctx.path),
                                                          {"Dockerfile"}));
    }
}

TEST_CASE("build hash: every change a build can see changes it") {
    Context ctx;
    const std::string before = ctx.hash();

    SUBCASE("a file's content") {
        ctx.write("server.py", "print('hello!')\n");
        CHECK(ctx.hash() != before);
        ctx.write("server.py", "print('hello')\n");
        CHECK(ctx.hash() == before);  // back as it was
    }
    SUBCASE("a file in a sub-folder") {
        ctx.write("pkg/util.py", "X = 2\n");
        CHECK(ctx.hash() != before);
    }
    SUBCASE("a file's mode") {
        ::chmod((ctx.path / "server.py").c_str(), 0755);
        CHECK(ctx.hash() != before);
    }
    SUBCASE("a folder's mode") {
        ::chmod((ctx.path / "pkg").c_str(), 0700);
        CHECK(ctx.hash() != before);
    }
    SUBCASE("a new file, a new empty folder, a removed file") {
        ctx.write("new.py", "");
        const std::string with_new = ctx.hash();
        CHECK(with_new != before);
        fs::create_directory(ctx.path / "empty");
        CHECK(ctx.hash() != with_new);
        fs::remove(ctx.path / "new.py");
        fs::remove(ctx.path / "empty");
        fs::remove(ctx.path / "pkg/util.py");
        CHECK(ctx.hash() != before);
    }
    SUBCASE("a file renamed, same content") {
        fs::rename(ctx.path / "server.py", ctx.path / "main.py");
        CHECK(ctx.hash() != before);
    }
    SUBCASE("a symbolic link's target") {
        fs::create_symlink("server.py", ctx.path / "link");
        const std::string with_link = ctx.hash();
        CHECK(with_link != before);
        fs::remove(ctx.path / "link");
        fs::create_symlink("run.sh", ctx.path / "link");
        CHECK(ctx.hash() != with_link);
    }
    SUBCASE("the Dockerfile's content") {
        ctx.write("Dockerfile", "FROM base\nCOPY . /srv\n");
        CHECK(ctx.hash() != before);
    }
    SUBCASE("which dockerfile, even when both files are alike") {
        CHECK(build_hash(ctx.build("Dockerfile.alt")) != before);
    }
    SUBCASE("the build args: a new one, another value, another name") {
        const auto one = build_hash(ctx.build("Dockerfile", {{"MODEL", "small"}}));
        CHECK(one != before);
        CHECK(build_hash(ctx.build("Dockerfile", {{"MODEL", "large"}})) != one);
        CHECK(build_hash(ctx.build("Dockerfile", {{"MODE", "Lsmall"}})) != one);  // fields do not run together
        CHECK(build_hash(ctx.build("Dockerfile", {{"MODEL", ""}})) != before);
    }
    SUBCASE("the .dockerignore rules") {
        ctx.write(".dockerignore", "data/\n");  // debug.log goes in now
        CHECK(ctx.hash() != before);
        ctx.write(".dockerignore", "*.log\ndata/\n# a comment\n");  // the file itself goes in too
        CHECK(ctx.hash() != before);
        fs::remove(ctx.path / ".dockerignore");
        CHECK(ctx.hash() != before);
    }
}

TEST_CASE("build hash: files the .dockerignore leaves out do not change it") {
    Context ctx;
    const std::string before = ctx.hash();
    ctx.write("debug.log", "other noise\n");
    ctx.write("more.log", "new\n");
    ctx.write("data/weights.bin", "bigger\n", 0600);
    ctx.write("data/new/deep.bin", "x");
    CHECK(ctx.hash() == before);
}

TEST_CASE("build hash: a context that cannot be read is an error, not a hash") {
    Context ctx;
    ctx.write("secret.py", "x", 0644);
    if (::geteuid() != 0) {  // root reads any file
        ::chmod((ctx.path / "secret.py").c_str(), 0);
        CHECK_THROWS_AS(ctx.hash(), std::runtime_error);
    }
    CHECK_THROWS_AS(build_hash(Build{ctx.path / "missing", "Dockerfile", {}, {}}), std::runtime_error);
}
