// docker_prefix_tar (docker.hpp): Docker extracts an archive only into a folder
// that exists, so a missing folder travels inside the tar instead.
#include "engine/docker.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <ctime>
#include <memory>
#include <stdexcept>

namespace mldeploy::engine {

namespace {

// libarchive helpers for docker_prefix_tar.
struct ReadCloser {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteCloser {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t append_to_string(archive*, void* out, const void* data, size_t size) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
}

// "./a/b" -> "a/b", "/a" -> "a", "." and "./" -> "".
std::string relative_entry_path(std::string_view path) {
    while (true) {
        if (path.starts_with("./")) {
            path.remove_prefix(2);
        } else if (path.starts_with("/")) {
            path.remove_prefix(1);
        } else {
            break;
        }
    }
    if (path == ".") {
        return {};
    }
    return std::string(path);
}

}  // namespace

std::string docker_prefix_tar(std::string_view tar, std::string_view folder) {
    std::string prefix = relative_entry_path(folder);
    while (!prefix.empty() && prefix.back() == '/') {
        prefix.pop_back();
    }
    if (prefix.empty()) {
        return std::string(tar);
    }

    std::unique_ptr<archive, ReadCloser> reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    if (archive_read_open_memory(reader.get(), tar.data(), tar.size()) != ARCHIVE_OK) {
        throw std::runtime_error(std::string("cannot read tar: ") + archive_error_string(reader.get()));
    }
    std::string out;
    std::unique_ptr<archive, WriteCloser> writer(archive_write_new());
    archive_write_set_format_pax_restricted(writer.get());
    archive_write_set_bytes_in_last_block(writer.get(), 1);
    if (archive_write_open(writer.get(), &out, nullptr, append_to_string, nullptr) != ARCHIVE_OK) {
        throw std::runtime_error(std::string("cannot write tar: ") + archive_error_string(writer.get()));
    }
    auto write_header = [&](archive_entry* entry) {
        if (archive_write_header(writer.get(), entry) < ARCHIVE_WARN) {
            throw std::runtime_error(std::string("cannot write tar: ") + archive_error_string(writer.get()));
        }
    };

    // The folder itself (each of its levels, for a prefix such as "etc/mldeploy").
    const auto now = std::time(nullptr);
    for (std::size_t end = prefix.find('/');; end = prefix.find('/', end + 1)) {
        std::unique_ptr<archive_entry, EntryFree> dir(archive_entry_new());
        archive_entry_set_pathname(dir.get(), (prefix.substr(0, end) + "/").c_str());
        archive_entry_set_filetype(dir.get(), AE_IFDIR);
        archive_entry_set_perm(dir.get(), 0755);
        archive_entry_set_uid(dir.get(), 0);
        archive_entry_set_gid(dir.get(), 0);
        archive_entry_set_mtime(dir.get(), now, 0);
        write_header(dir.get());
        if (end == std::string::npos) {
            break;
        }
    }

    archive_entry* entry = nullptr;
    int rc = ARCHIVE_OK;
    while ((rc = archive_read_next_header(reader.get(), &entry)) == ARCHIVE_OK) {
        const std::string path = relative_entry_path(archive_entry_pathname(entry));
        if (path.empty()) {
            continue;  // "." itself: the folder entry above stands for it
        }
        archive_entry_set_pathname(entry, (prefix + "/" + path).c_str());
        if (const char* link = archive_entry_hardlink(entry); link != nullptr && *link != '\0') {
            archive_entry_set_hardlink(entry, (prefix + "/" + relative_entry_path(link)).c_str());
        }
        write_header(entry);
        const void* block = nullptr;
        size_t size = 0;
        la_int64_t offset = 0;
        int data_rc = ARCHIVE_OK;
        while ((data_rc = archive_read_data_block(reader.get(), &block, &size, &offset)) == ARCHIVE_OK) {
            if (archive_write_data(writer.get(), block, size) < 0) {
                throw std::runtime_error(std::string("cannot write tar: ") + archive_error_string(writer.get()));
            }
        }
        if (data_rc != ARCHIVE_EOF) {
            throw std::runtime_error(std::string("cannot read tar: ") + archive_error_string(reader.get()));
        }
    }
    if (rc != ARCHIVE_EOF) {
        throw std::runtime_error(std::string("cannot read tar: ") + archive_error_string(reader.get()));
    }
    if (archive_write_close(writer.get()) != ARCHIVE_OK) {
        throw std::runtime_error(std::string("cannot write tar: ") + archive_error_string(writer.get()));
    }
    return out;
}

}  // namespace mldeploy::engine
