#include "util/tar.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

using mldeploy::util::DockerIgnore;
using mldeploy::util::parse_dockerignore;
using mldeploy::util::read_dockerignore;
using mldeploy::util::tar_directory;
using mldeploy::util::tar_files;
using mldeploy::util::TarEntry;

namespace {

struct Item {
    char type = '?';  // 'f' file, 'd' folder, 'l' link
    unsigned mode = 0;
    std::string content;  // file content or link target
    bool operator==(const Item&) const = default;
};

// Reads a tar back with libarchive: path -> item, and the order of the paths.
std::map<std::string, Item> read_tar(const std::string& tar, std::vector<std::string>* order = nullptr) {
    std::map<std::string, Item> items;
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
    archive_entry* entry = nullptr;
    while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
        Item item;
        const auto type = archive_entry_filetype(entry);
        item.type = type == AE_IFDIR ? 'd' : type == AE_IFLNK ? 'l' : type == AE_IFREG ? 'f' : '?';
        item.mode = archive_entry_perm(entry);
        if (item.type == 'l') {
            item.content = archive_entry_symlink(entry);
        } else if (item.type == 'f') {
            item.content.resize(static_cast<std::size_t>(archive_entry_size(entry)));
            if (!item.content.empty()) {
                archive_read_data(a, item.content.data(), item.content.size());
            }
        }
        CHECK(archive_entry_uid(entry) == 0);
        std::string path = archive_entry_pathname(entry);
        if (item.type == 'd') {
            CHECK(path.ends_with("/"));  // libarchive writes folders as "name/"
            path.pop_back();
        }
        if (order) {
            order->push_back(path);
        }
        items[path] = item;
    }
    archive_read_free(a);
    return items;
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "mldeploy-tar-XXXXXX").string();
        REQUIRE(mkdtemp(templ.data()) != nullptr);
        path = templ;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    void write(const std::string& rel, const std::string& content, unsigned mode = 0644) const {
        const auto file = path / rel;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << content;
        ::chmod(file.c_str(), mode);
    }
};

bool ex(const std::vector<std::string>& patterns, const std::string& path) {
    return DockerIgnore(patterns).excluded(path);
}

}  // namespace

TEST_CASE(".dockerignore: reading the file's lines") {
    CHECK(parse_dockerignore("\xEF\xBB\xBF# comment\n\n  *.pyc  \n/build/\n!/build/keep.txt\n./a/../b//c/\r\n! x\n") ==
          std::vector<std::string>{"*.pyc", "build", "!build/keep.txt", "b/c", "!x"});
    TempDir dir;
    CHECK(read_dockerignore(dir.path).empty());
    dir.write(".dockerignore", ".git\nnode_modules\n");
    CHECK(read_dockerignore(dir.path) == std::vector<std::string>{".git", "node_modules"});
}

TEST_CASE(".dockerignore: Docker's matching") {
    SUBCASE("plain names are relative to the root, and a folder takes its contents along") {
        CHECK(ex({"build"}, "build"));
        CHECK(ex({"build"}, "build/out/app.o"));
        CHECK_FALSE(ex({"build"}, "src/build"));
        CHECK_FALSE(ex({"build"}, "builder"));
        CHECK(ex({"src/gen"}, "src/gen/x.py"));
    }
    SUBCASE("* and ? stop at '/'") {
        CHECK(ex({"*.pyc"}, "a.pyc"));
        CHECK_FALSE(ex({"*.pyc"}, "pkg/a.pyc"));
        CHECK(ex({"*/*.pyc"}, "pkg/a.pyc"));
        CHECK(ex({"file?.txt"}, "file1.txt"));
        CHECK_FALSE(ex({"file?.txt"}, "file10.txt"));
        CHECK_FALSE(ex({"file?.txt"}, "file/.txt"));
        CHECK(ex({"*"}, "anything/at/all"));  // "*" matches the top folder
    }
    SUBCASE("** spans any number of folders") {
        CHECK(ex({"**/*.pyc"}, "a.pyc"));
        CHECK(ex({"**/*.pyc"}, "pkg/sub/a.pyc"));
        CHECK(ex({"**/__pycache__"}, "__pycache__"));
        CHECK(ex({"**/__pycache__"}, "a/b/__pycache__/x.pyc"));
        CHECK(ex({"docs/**"}, "docs/a/b.md"));
        CHECK(ex({"a/**/z"}, "a/z"));
        CHECK(ex({"a/**/z"}, "a/b/c/z"));
        CHECK_FALSE(ex({"a/**/z"}, "b/a/z"));
        CHECK(ex({"**"}, "x/y"));
    }
    SUBCASE("classes and escapes") {
        CHECK(ex({"data[0-9].csv"}, "data7.csv"));
        CHECK_FALSE(ex({"data[0-9].csv"}, "dataX.csv"));
        CHECK(ex({"data[^0-9].csv"}, "dataX.csv"));
        CHECK(ex({"\\*star"}, "*star"));
        CHECK_FALSE(ex({"\\*star"}, "xstar"));
        CHECK(ex({"a.b"}, "a.b"));
        CHECK_FALSE(ex({"a.b"}, "axb"));  // '.' is literal
        CHECK(ex({"(x)+{y}|$"}, "(x)+{y}|$"));
        CHECK_THROWS_AS(DockerIgnore({"data[0-9"}), std::invalid_argument);
        CHECK_THROWS_AS(DockerIgnore({"!"}), std::invalid_argument);
    }
    SUBCASE("! re-includes and the last pattern that applies wins") {
        CHECK_FALSE(ex({"*.md", "!README.md"}, "README.md"));
        CHECK(ex({"*.md", "!README.md"}, "CHANGES.md"));
        CHECK(ex({"*.md", "!README.md", "README.md"}, "README.md"));
        CHECK_FALSE(ex({"models", "!models/small.onnx"}, "models/small.onnx"));
        CHECK(ex({"models", "!models/small.onnx"}, "models/big.onnx"));
        CHECK_FALSE(ex({"!x"}, "x"));
        CHECK_FALSE(ex({}, "anything"));
    }
    SUBCASE("which excluded folders must still be walked") {
        const DockerIgnore ignore({"models", "!models/small.onnx", "cache"});
        CHECK(ignore.may_reinclude_under("models"));
        CHECK_FALSE(ignore.may_reinclude_under("cache"));
        CHECK(DockerIgnore({"vendor", "!**/*.go"}).may_reinclude_under("vendor"));
        CHECK_FALSE(DockerIgnore({"vendor"}).may_reinclude_under("vendor"));
    }
}

TEST_CASE("tar_directory: a build context round trip") {
    TempDir dir;
    dir.write("Dockerfile", "FROM scratch\n");
    dir.write(".dockerignore", "*\n!app\n");
    dir.write("app/main.py", "print('hi')\n");
    dir.write("app/run.sh", "#!/bin/sh\n", 0755);
    dir.write("app/__pycache__/main.pyc", "junk");
    dir.write("notes.txt", "left out");
    std::filesystem::create_directories(dir.path / "app/empty");
    std::filesystem::create_symlink("main.py", dir.path / "app/link.py");
    ::chmod((dir.path / "app").c_str(), 0750);

    SUBCASE("everything, without patterns") {
        std::vector<std::string> order;
        const auto items = read_tar(tar_directory(dir.path, {}), &order);
        CHECK(items.size() == 10);
        CHECK(items.at("app") == Item{'d', 0750, ""});
        CHECK(items.at("app/main.py") == Item{'f', 0644, "print('hi')\n"});
        CHECK(items.at("app/run.sh") == Item{'f', 0755, "#!/bin/sh\n"});
        CHECK(items.at("app/link.py").type == 'l');
        CHECK(items.at("app/link.py").content == "main.py");
        CHECK(items.at("app/empty").type == 'd');
        CHECK(items.count("notes.txt") == 1);
        // Sorted per folder; a folder comes before its contents.
        CHECK(order == std::vector<std::string>{".dockerignore", "Dockerfile", "app", "app/__pycache__",
                                                "app/__pycache__/main.pyc", "app/empty", "app/link.py", "app/main.py",
                                                "app/run.sh", "notes.txt"});
        // The same context gives the same bytes (mtimes kept from disk).
        CHECK(tar_directory(dir.path, {}) == tar_directory(dir.path, {}));
    }
    SUBCASE("with the .dockerignore: Dockerfile and .dockerignore always go along") {
        auto patterns = read_dockerignore(dir.path);
        patterns.push_back("**/__pycache__");
        const auto items = read_tar(tar_directory(dir.path, patterns));
        std::vector<std::string> paths;
        for (const auto& [path, item] : items) {
            paths.push_back(path);
        }
        CHECK(paths == std::vector<std::string>{".dockerignore", "Dockerfile", "app", "app/empty", "app/link.py",
                                                "app/main.py", "app/run.sh"});
    }
    SUBCASE("a file re-included from an excluded folder keeps its folder entry") {
        const auto items = read_tar(tar_directory(dir.path, {"app", "!app/run.sh", "Dockerfile", ".dockerignore"}));
        std::vector<std::string> paths;
        for (const auto& [path, item] : items) {
            paths.push_back(path);
        }
        CHECK(paths == std::vector<std::string>{".dockerignore", "Dockerfile", "app", "app/run.sh", "notes.txt"});
        CHECK(items.at("app").mode == 0750);
    }
    SUBCASE("a Dockerfile of another name can be kept too") {
        dir.write("deploy/serve.Dockerfile", "FROM scratch\n");
        const auto items = read_tar(tar_directory(dir.path, {"deploy"}, {"deploy/serve.Dockerfile"}));
        CHECK(items.count("deploy/serve.Dockerfile") == 1);
        CHECK(items.count("deploy") == 1);
    }
    CHECK_THROWS_AS(tar_directory(dir.path / "missing", {}), std::runtime_error);
}

TEST_CASE("tar_files: files with their parent folders") {
    std::vector<std::string> order;
    const auto items = read_tar(tar_files({{"mldeploy/nginx.conf", "events {}\n", 0644},
                                           {"mldeploy/conf.d/a.conf", "", 0600},
                                           {"/top.sh", "#!/bin/sh\n", 0755}}),
                                &order);
    CHECK(order == std::vector<std::string>{"mldeploy", "mldeploy/nginx.conf", "mldeploy/conf.d",
                                            "mldeploy/conf.d/a.conf", "top.sh"});
    CHECK(items.at("mldeploy") == Item{'d', 0755, ""});
    CHECK(items.at("mldeploy/nginx.conf") == Item{'f', 0644, "events {}\n"});
    CHECK(items.at("mldeploy/conf.d/a.conf") == Item{'f', 0600, ""});
    CHECK(items.at("top.sh") == Item{'f', 0755, "#!/bin/sh\n"});
    CHECK_THROWS_AS(tar_files({{"../escape", "x", 0644}}), std::invalid_argument);
    CHECK_THROWS_AS(tar_files({{"", "x", 0644}}), std::invalid_argument);
    // Long names need pax headers; they survive.
    const std::string long_name = std::string(120, 'd') + "/" + std::string(120, 'f');
    CHECK(read_tar(tar_files({{long_name, "x", 0644}})).count(long_name) == 1);
}
