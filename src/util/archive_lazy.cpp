// libarchive, loaded on first use instead of at every start.
//
// Only build, up and scale make or read tars, but a binary linked with
// libarchive.so loads it, and with it the compressors, libxml2, ICU and
// libstdc++.so, at every start: a third of `mldeploy ps`'s libraries and most
// of its lead over a bare curl (cmake/Dependencies.cmake). So mldeploy is not
// linked with it: this file defines the libarchive functions mldeploy calls
// (with archive.h's own declarations), and each one looks up the real one in
// libarchive.so.13, loaded by the first call.
//
// A libarchive function used anywhere else in src/ without a line here is an
// undefined reference at link time. When the library cannot be loaded, the
// call throws std::runtime_error, which says what to install.
#include <archive.h>
#include <archive_entry.h>

#include <dlfcn.h>

#include <stdexcept>
#include <string>

#if ARCHIVE_VERSION_NUMBER < 3000000 || ARCHIVE_VERSION_NUMBER >= 4000000
#error "libarchive 3 is libarchive.so.13; check the soname of this libarchive"
#endif

namespace {

constexpr const char* kLibrary = "libarchive.so.13";

void* library() {
    static void* const handle = [] {
        void* h = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr)
            throw std::runtime_error(std::string("cannot load ") + kLibrary +
                                     ", which mldeploy needs to make and read tar archives (install Debian's "
                                     "package libarchive13): " +
                                     dlerror());
        return h;
    }();
    return handle;
}

// libarchive's function `name`, of type F (the declaration in archive.h).
template <class F>
F* real(const char* name) {
    void* address = dlsym(library(), name);
    if (address == nullptr) throw std::runtime_error(std::string(kLibrary) + " has no " + name);
    return reinterpret_cast<F*>(address);
}

}  // namespace

// Inside each function below: the real one, looked up once.
#define MLDEPLOY_REAL(name) static auto* const real_fn = real<decltype(name)>(#name)

extern "C" {

// Reading
struct archive* archive_read_new() {
    MLDEPLOY_REAL(archive_read_new);
    return real_fn();
}
int archive_read_support_format_tar(struct archive* a) {
    MLDEPLOY_REAL(archive_read_support_format_tar);
    return real_fn(a);
}
int archive_read_open_memory(struct archive* a, const void* buffer, size_t size) {
    MLDEPLOY_REAL(archive_read_open_memory);
    return real_fn(a, buffer, size);
}
int archive_read_next_header(struct archive* a, struct archive_entry** entry) {
    MLDEPLOY_REAL(archive_read_next_header);
    return real_fn(a, entry);
}
la_ssize_t archive_read_data(struct archive* a, void* buffer, size_t size) {
    MLDEPLOY_REAL(archive_read_data);
    return real_fn(a, buffer, size);
}
int archive_read_data_block(struct archive* a, const void** buffer, size_t* size, la_int64_t* offset) {
    MLDEPLOY_REAL(archive_read_data_block);
    return real_fn(a, buffer, size, offset);
}
int archive_read_free(struct archive* a) {
    MLDEPLOY_REAL(archive_read_free);
    return real_fn(a);
}

// Writing
struct archive* archive_write_new() {
    MLDEPLOY_REAL(archive_write_new);
    return real_fn();
}
int archive_write_set_format_pax_restricted(struct archive* a) {
    MLDEPLOY_REAL(archive_write_set_format_pax_restricted);
    return real_fn(a);
}
int archive_write_set_bytes_in_last_block(struct archive* a, int bytes) {
    MLDEPLOY_REAL(archive_write_set_bytes_in_last_block);
    return real_fn(a, bytes);
}
int archive_write_open(struct archive* a, void* client_data, archive_open_callback* open, archive_write_callback* write,
                       archive_close_callback* close) {
    MLDEPLOY_REAL(archive_write_open);
    return real_fn(a, client_data, open, write, close);
}
int archive_write_header(struct archive* a, struct archive_entry* entry) {
    MLDEPLOY_REAL(archive_write_header);
    return real_fn(a, entry);
}
la_ssize_t archive_write_data(struct archive* a, const void* buffer, size_t size) {
    MLDEPLOY_REAL(archive_write_data);
    return real_fn(a, buffer, size);
}
int archive_write_close(struct archive* a) {
    MLDEPLOY_REAL(archive_write_close);
    return real_fn(a);
}
int archive_write_free(struct archive* a) {
    MLDEPLOY_REAL(archive_write_free);
    return real_fn(a);
}

const char* archive_error_string(struct archive* a) {
    MLDEPLOY_REAL(archive_error_string);
    return real_fn(a);
}

// Entries
struct archive_entry* archive_entry_new() {
    MLDEPLOY_REAL(archive_entry_new);
    return real_fn();
}
void archive_entry_free(struct archive_entry* e) {
    MLDEPLOY_REAL(archive_entry_free);
    real_fn(e);
}
const char* archive_entry_pathname(struct archive_entry* e) {
    MLDEPLOY_REAL(archive_entry_pathname);
    return real_fn(e);
}
const char* archive_entry_hardlink(struct archive_entry* e) {
    MLDEPLOY_REAL(archive_entry_hardlink);
    return real_fn(e);
}
__LA_MODE_T archive_entry_filetype(struct archive_entry* e) {
    MLDEPLOY_REAL(archive_entry_filetype);
    return real_fn(e);
}
void archive_entry_set_pathname(struct archive_entry* e, const char* path) {
    MLDEPLOY_REAL(archive_entry_set_pathname);
    real_fn(e, path);
}
void archive_entry_set_hardlink(struct archive_entry* e, const char* target) {
    MLDEPLOY_REAL(archive_entry_set_hardlink);
    real_fn(e, target);
}
void archive_entry_set_symlink(struct archive_entry* e, const char* target) {
    MLDEPLOY_REAL(archive_entry_set_symlink);
    real_fn(e, target);
}
void archive_entry_set_filetype(struct archive_entry* e, unsigned int type) {
    MLDEPLOY_REAL(archive_entry_set_filetype);
    real_fn(e, type);
}
void archive_entry_set_perm(struct archive_entry* e, __LA_MODE_T mode) {
    MLDEPLOY_REAL(archive_entry_set_perm);
    real_fn(e, mode);
}
void archive_entry_set_uid(struct archive_entry* e, la_int64_t uid) {
    MLDEPLOY_REAL(archive_entry_set_uid);
    real_fn(e, uid);
}
void archive_entry_set_gid(struct archive_entry* e, la_int64_t gid) {
    MLDEPLOY_REAL(archive_entry_set_gid);
    real_fn(e, gid);
}
void archive_entry_set_mtime(struct archive_entry* e, time_t seconds, long nanoseconds) {
    MLDEPLOY_REAL(archive_entry_set_mtime);
    real_fn(e, seconds, nanoseconds);
}
void archive_entry_set_size(struct archive_entry* e, la_int64_t size) {
    MLDEPLOY_REAL(archive_entry_set_size);
    real_fn(e, size);
}

}  // extern "C"

namespace mldeploy::util {
void load_archive_library() { (void)library(); }
}  // namespace mldeploy::util
