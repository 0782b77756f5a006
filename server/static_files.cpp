#include "static_files.h"

#include <glib/gstdio.h>

#include <climits>
#include <cstdlib>
#include <cstring>

#include "http.h"

namespace zumzi {

namespace {

std::string real_path(const std::string& path)
{
    char buffer[PATH_MAX];
    if (!realpath(path.c_str(), buffer))
        return {};
    return buffer;
}

struct Type {
    const char* extension;
    const char* mime;
};

const Type kTypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".wav", "audio/wav"},
    {".mp3", "audio/mpeg"},
    {".ogg", "audio/ogg"},
    {".webm", "video/webm"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".wasm", "application/wasm"},
    {".webmanifest", "application/manifest+json"},
};

// The npm packages whose browser builds the web client loads, and the
// folder of each package that is served.
struct VendorPackage {
    const char* name;  // under node_modules/ and under /vendor/
    const char* dist;  // the folder of it that is served
};

const VendorPackage kVendorPackages[] = {
    {"hls.js", "dist"},  // the viewer page's HLS player (web/app/watch.js)
};

// `path` is `prefix` followed by a room id (letters and digits only).
bool is_room_page(const char* path, const char* prefix)
{
    if (!g_str_has_prefix(path, prefix))
        return false;
    const char* id = path + strlen(prefix);
    if (!*id)
        return false;
    for (const char* c = id; *c; c++)
        if (!g_ascii_isalnum(*c))
            return false;
    return true;
}

// The web client's own pages: addresses that a user types or shares (an
// invite link /r/{room}?pin=..., a viewer link /watch/{room}?pin=...), all
// answered with /index.html, whose script routes them.
bool is_app_page(const char* path)
{
    static const char* const kPages[] = {"/signin", "/rooms", "/messenger"};
    for (const char* page : kPages)
        if (g_str_equal(path, page))
            return true;
    return is_room_page(path, "/r/") || is_room_page(path, "/watch/");
}

[[noreturn]] void not_found(const char* path)
{
    fail(404, "NOTFOUND", "no such file: %s", path);
}

}  // namespace

StaticFiles::StaticFiles(const std::string& root, const std::string& vendor_root)
    : root_(root.empty() ? "" : real_path(root))
{
    if (!root.empty() && root_.empty())
        g_warning("web_dir %s does not exist: the web client is not served", root.c_str());
    if (vendor_root.empty())
        return;
    for (const VendorPackage& p : kVendorPackages) {
        const std::string dir = real_path(vendor_root + "/" + p.name + "/" + p.dist);
        if (dir.empty()) {
            g_warning("npm package %s is missing from %s (run npm ci, which tools/setup does): "
                      "/vendor/%s/ is not served",
                      p.name, vendor_root.c_str(), p.name);
            continue;
        }
        vendor_.push_back({std::string("/vendor/") + p.name, dir});
    }
}

const char* StaticFiles::content_type(const std::string& file)
{
    g_autofree char* lower = g_ascii_strdown(file.c_str(), -1);
    for (const Type& t : kTypes)
        if (g_str_has_suffix(lower, t.extension))
            return t.mime;
    return "application/octet-stream";
}

std::string StaticFiles::resolve(const char* path) const
{
    if (!path || path[0] != '/')
        return {};
    for (const Mount& m : vendor_) {
        if (g_str_has_prefix(path, m.prefix.c_str()) && path[m.prefix.size()] == '/') {
            // Files only: a folder of a package serves no index.html.
            return resolve_in(m.dir, path + m.prefix.size(), false);
        }
    }
    if (root_.empty())
        return {};
    if (is_app_page(path))
        path = "/index.html";
    return resolve_in(root_, path, true);
}

std::string StaticFiles::resolve_in(const std::string& root, const char* path, bool index)
{
    std::string relative;
    g_auto(GStrv) segments = g_strsplit(path + 1, "/", -1);
    const guint n = g_strv_length(segments);
    for (guint i = 0; i < n; i++) {
        const char* raw = segments[i];
        if (!*raw) {
            // Only a trailing slash ("/", "/dir/") may leave an empty segment.
            if (i + 1 == n)
                break;
            return {};
        }
        // NULL for bad escapes and for an encoded '/' or NUL.
        g_autofree char* segment = g_uri_unescape_segment(raw, nullptr, "/");
        if (!segment || !*segment || segment[0] == '.' || strchr(segment, '\\'))
            return {};
        relative += '/';
        relative += segment;
    }
    std::string file = real_path(root + relative);
    if (file.empty())
        return {};
    if (file != root && file.compare(0, root.size() + 1, root + "/") != 0)
        return {};  // a symlink out of the root
    if (index && g_file_test(file.c_str(), G_FILE_TEST_IS_DIR)) {
        file = real_path(file + "/index.html");
        if (file.empty() || file.compare(0, root.size() + 1, root + "/") != 0)
            return {};
    }
    if (!g_file_test(file.c_str(), G_FILE_TEST_IS_REGULAR))
        return {};
    return file;
}

void StaticFiles::serve(SoupServerMessage* msg, const char* path) const
{
    const std::string file = resolve(path);
    if (file.empty())
        not_found(path);
    g_autoptr(GMappedFile) mapped = g_mapped_file_new(file.c_str(), FALSE, nullptr);
    if (!mapped)
        not_found(path);
    g_autoptr(GBytes) bytes = g_mapped_file_get_bytes(mapped);
    SoupMessageHeaders* headers = soup_server_message_get_response_headers(msg);
    // The client changes with every release: revalidate each time.
    soup_message_headers_replace(headers, "Cache-Control", "no-cache");
    soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
    soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
    gsize size = 0;
    const void* data = g_bytes_get_data(bytes, &size);
    soup_server_message_set_response(msg, content_type(file), SOUP_MEMORY_COPY,
                                     static_cast<const char*>(data), size);
}

}  // namespace zumzi
