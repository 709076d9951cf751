#include "util/untar.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <stdexcept>

namespace mldeploy::util {
namespace {

struct ArchiveReadCloser {
    void operator()(archive* a) const { archive_read_free(a); }
};

bool ends_with_path(std::string_view path, std::string_view name) {
    if (path.size() < name.size() || path.substr(path.size() - name.size()) != name) return false;
    return path.size() == name.size() || path[path.size() - name.size() - 1] == '/';
}

}  // namespace

std::optional<std::string> untar_file(std::string_view tar, std::string_view name) {
    std::unique_ptr<archive, ArchiveReadCloser> reader(archive_read_new());
    archive_read_support_format_tar(reader.get());
    if (archive_read_open_memory(reader.get(), tar.data(), tar.size()) != ARCHIVE_OK)
        throw std::runtime_error(std::string("cannot read tar: ") + archive_error_string(reader.get()));
    archive_entry* entry = nullptr;
    int rc = ARCHIVE_OK;
    while ((rc = archive_read_next_header(reader.get(), &entry)) == ARCHIVE_OK) {
        if (archive_entry_filetype(entry) != AE_IFREG || !ends_with_path(archive_entry_pathname(entry), name)) continue;
        std::string content;
        char buffer[16384];
        la_ssize_t n = 0;
        while ((n = archive_read_data(reader.get(), buffer, sizeof buffer)) > 0)
            content.append(buffer, static_cast<size_t>(n));
        if (n < 0) throw std::runtime_error(std::string("cannot read tar: ") + archive_error_string(reader.get()));
        return content;
    }
    if (rc != ARCHIVE_EOF)
        throw std::runtime_error(std::string("cannot read tar: ") + archive_error_string(reader.get()));
    return std::nullopt;
}

}  // namespace mldeploy::util
