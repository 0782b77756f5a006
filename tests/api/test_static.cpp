// The web client's static files at /: content types, index.html for
// directories and the client's pages, the npm packages it loads under
// /vendor/ (from a node_modules folder), and every path trick (dot segments raw and percent-encoded,
// encoded slashes, absolute paths, dotfiles, symlinks out of the root) gets
// 404 NOTFOUND. Tricky paths go over a raw socket, because libsoup's client
// would normalise them before sending.
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <string>

#include "static_files.h"
#include "test_server.h"

using namespace zumzi_test;

namespace {

void write_file(const std::string& path, const std::string& text)
{
    CHECK_TRUE(g_file_set_contents(path.c_str(), text.c_str(), -1, nullptr));
}

// Sends `request_line` plus a Host header and returns the status code and
// the whole response text.
std::pair<int, std::string> raw_get(const std::string& url, const std::string& target)
{
    g_autoptr(GUri) uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
    g_autoptr(GSocketClient) client = g_socket_client_new();
    g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host(
        client, "127.0.0.1", static_cast<guint16>(g_uri_get_port(uri)), nullptr, nullptr);
    CHECK_TRUE(conn != nullptr);
    const std::string request =
        "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    GOutputStream* out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    CHECK_TRUE(
        g_output_stream_write_all(out, request.data(), request.size(), nullptr, nullptr, nullptr));
    GInputStream* in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
    std::string response;
    char buffer[4096];
    for (;;) {
        gssize n = g_input_stream_read(in, buffer, sizeof buffer, nullptr, nullptr);
        if (n <= 0)
            break;
        response.append(buffer, static_cast<size_t>(n));
    }
    int status = 0;
    if (response.compare(0, 9, "HTTP/1.1 ") == 0)
        status = std::atoi(response.c_str() + 9);
    return {status, response};
}

}  // namespace

TEST_GROUP(Static)
{
    std::unique_ptr<TestServer> srv;
    std::string parent;  // holds web/, node_modules/ and a secret next to them
    std::string web;
    std::string modules;  // node_modules: hls.js and another package

    void setup() override
    {
        g_autofree char* dir = g_dir_make_tmp("zumzi-static-XXXXXX", nullptr);
        parent = dir;
        web = parent + "/web";
        g_mkdir(web.c_str(), 0700);
        g_mkdir((web + "/test").c_str(), 0700);
        g_mkdir((web + "/empty").c_str(), 0700);
        write_file(web + "/index.html", "<!doctype html><title>Zumzi</title>");
        write_file(web + "/zumzi.js", "export const x = 1;\n");
        write_file(web + "/style.css", "body{}");
        write_file(web + "/logo.svg", "<svg/>");
        write_file(web + "/data.bin", "\x01\x02");
        write_file(web + "/test/index.html", "<p>test index</p>");
        write_file(web + "/test/call.html", "<p>call</p>");
        write_file(web + "/.hidden", "hidden");
        write_file(parent + "/secret.txt", "SECRET");
        modules = parent + "/node_modules";
        g_mkdir_with_parents((modules + "/hls.js/dist").c_str(), 0700);
        g_mkdir_with_parents((modules + "/other/dist").c_str(), 0700);
        write_file(modules + "/hls.js/dist/hls.mjs", "export default class Hls {}\n");
        write_file(modules + "/hls.js/package.json", "{\"name\":\"hls.js\"}");
        write_file(modules + "/other/dist/other.js", "SECRET");
        CHECK_EQUAL(0, symlink((parent + "/secret.txt").c_str(), (web + "/leak.txt").c_str()));
        CHECK_EQUAL(0, symlink(parent.c_str(), (web + "/up").c_str()));
        CHECK_EQUAL(0, symlink("zumzi.js", (web + "/alias.js").c_str()));
        const std::string root = web;
        const std::string vendor = modules;
        srv = std::make_unique<TestServer>([root, vendor](zumzi::Config& c) {
            c.web_dir = root;
            c.vendor_dir = vendor;
        });
    }

    void teardown() override
    {
        srv.reset();
        const char* files[] = {"/web/index.html",
                               "/web/zumzi.js",
                               "/web/style.css",
                               "/web/logo.svg",
                               "/web/data.bin",
                               "/web/test/index.html",
                               "/web/test/call.html",
                               "/web/.hidden",
                               "/web/leak.txt",
                               "/web/up",
                               "/web/alias.js",
                               "/secret.txt",
                               "/node_modules/hls.js/dist/hls.mjs",
                               "/node_modules/hls.js/package.json",
                               "/node_modules/other/dist/other.js",
                               "/node_modules/hls.js/dist",
                               "/node_modules/hls.js",
                               "/node_modules/other/dist",
                               "/node_modules/other",
                               "/node_modules",
                               "/web/test",
                               "/web/empty",
                               "/web"};
        for (const char* f : files)
            g_remove((parent + f).c_str());
        g_rmdir(parent.c_str());
    }

    void check_served(const std::string& path, const char* type, const std::string& body)
    {
        Response r = srv->get(path);
        CHECK_STATUS(r, 200);
        STRCMP_EQUAL(type, r.header("content-type").c_str());
        STRCMP_EQUAL(body.c_str(), r.body.c_str());
    }

    // 404 NOTFOUND from the file handler, or 400 from libsoup itself, which
    // refuses some malformed targets (an encoded '/' after a dot segment)
    // before any handler runs. Never the file.
    void check_refused_raw(const std::string& target)
    {
        auto [status, text] = raw_get(srv->url(), target);
        const bool refused =
            (status == 404 && text.find("\"NOTFOUND\"") != std::string::npos) || status == 400;
        if (!refused || text.find("SECRET") != std::string::npos)
            FAIL(("GET " + target + " should be 404 NOTFOUND, got:\n" + text).c_str());
        if (status == 400)
            g_printerr("(libsoup refused %s with 400)\n", target.c_str());
    }
};

TEST(Static, ServesFilesWithTheirContentTypes)
{
    check_served("/zumzi.js", "text/javascript; charset=utf-8", "export const x = 1;\n");
    check_served("/style.css", "text/css; charset=utf-8", "body{}");
    check_served("/logo.svg", "image/svg+xml", "<svg/>");
    check_served("/data.bin", "application/octet-stream", "\x01\x02");
    check_served("/test/call.html", "text/html; charset=utf-8", "<p>call</p>");
    // A symlink that stays inside the root is fine.
    check_served("/alias.js", "text/javascript; charset=utf-8", "export const x = 1;\n");
    // Percent-encoded ordinary characters decode.
    check_served("/zumzi%2Ejs", "text/javascript; charset=utf-8", "export const x = 1;\n");
}

TEST(Static, DirectoriesServeTheirIndex)
{
    check_served("/", "text/html; charset=utf-8", "<!doctype html><title>Zumzi</title>");
    check_served("/test/", "text/html; charset=utf-8", "<p>test index</p>");
    check_served("/test", "text/html; charset=utf-8", "<p>test index</p>");
    CHECK_ERROR(srv->get("/empty/"), 404, "NOTFOUND");
}

TEST(Static, TheClientsPagesServeItsIndex)
{
    const char* index = "<!doctype html><title>Zumzi</title>";
    check_served("/r/k7m2q9x4ab", "text/html; charset=utf-8", index);
    check_served("/r/k7m2q9x4ab?pin=12345678", "text/html; charset=utf-8", index);
    check_served("/rooms", "text/html; charset=utf-8", index);
    check_served("/messenger", "text/html; charset=utf-8", index);
    check_served("/signin", "text/html; charset=utf-8", index);
    // The viewer page of a room's live stream.
    check_served("/watch/k7m2q9x4ab", "text/html; charset=utf-8", index);
    check_served("/watch/k7m2q9x4ab?pin=12345678", "text/html; charset=utf-8", index);
    CHECK_ERROR(srv->get("/watch/"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/watch"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/watch/abc/def"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/watch/x.js"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/r/"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/r/abc/def"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/r/x.js"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/rooms/x"), 404, "NOTFOUND");
}

TEST(Static, VendorServesTheDistOfItsPackagesOnly)
{
    check_served("/vendor/hls.js/hls.mjs", "text/javascript; charset=utf-8",
                 "export default class Hls {}\n");
    CHECK_ERROR(srv->get("/vendor/hls.js/nope.js"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/vendor/hls.js/"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/vendor/hls.js"), 404, "NOTFOUND");
    // Only the listed packages, and only their dist folder.
    CHECK_ERROR(srv->get("/vendor/other/other.js"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/vendor/hls.jsx/hls.mjs"), 404, "NOTFOUND");
    const char* targets[] = {
        "/vendor/hls.js/../package.json",
        "/vendor/hls.js/%2e%2e/package.json",
        "/vendor/hls.js/..%2fpackage.json",
        "/vendor/hls.js/%2e%2e/%2e%2e/other/dist/other.js",
        "/vendor/hls.js/../../../secret.txt",
    };
    for (const char* t : targets)
        check_refused_raw(t);
}

TEST(Static, NoVendorDirServesNoVendor)
{
    srv.reset();
    const std::string root = web;
    srv = std::make_unique<TestServer>([root](zumzi::Config& c) {
        c.web_dir = root;
        c.vendor_dir = "";
    });
    CHECK_ERROR(srv->get("/vendor/hls.js/hls.mjs"), 404, "NOTFOUND");
    check_served("/zumzi.js", "text/javascript; charset=utf-8", "export const x = 1;\n");
}

TEST(Static, MissingFilesAreJson404)
{
    CHECK_ERROR(srv->get("/nope.js"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/test/nope/deeper.html"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/zumzi.js/x"), 404, "NOTFOUND");
    // The API keeps its own 404, and other methods do not read files.
    CHECK_ERROR(srv->get("/api/v1/zumzi.js"), 404, "NOTFOUND");
    CHECK_ERROR(srv->post("/zumzi.js", "{}"), 404, "NOTFOUND");
}

TEST(Static, PathTricksNeverLeaveTheRoot)
{
    const char* targets[] = {
        "/../secret.txt",
        "/test/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/test/%2e%2e/%2e%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/test%2f..%2f..%2fsecret.txt",
        "/..%5csecret.txt",
        "/%2e%2e%5csecret.txt",
        "//secret.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/%00secret.txt",
        "/zumzi.js%00.html",
        "/leak.txt",
        "/up/secret.txt",
        "/up/web/zumzi.js/../../secret.txt",
        "/.hidden",
        "/%2ehidden",
        "/./zumzi.js/../../secret.txt",
        "/%zz",
    };
    for (const char* t : targets)
        check_refused_raw(t);
    // The same file is reachable the ordinary way, so the refusals above are
    // about the path and not about the socket helper.
    auto [status, text] = raw_get(srv->url(), "/zumzi.js");
    LONGS_EQUAL(200, status);
    CHECK_TRUE(text.find("export const x = 1;") != std::string::npos);
}

TEST(Static, NoWebDirServesNothing)
{
    srv.reset();
    srv = std::make_unique<TestServer>([](zumzi::Config& c) { c.web_dir = ""; });
    CHECK_ERROR(srv->get("/"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/zumzi.js"), 404, "NOTFOUND");
    CHECK_STATUS(srv->get("/api/v1/health"), 200);
}

TEST(Static, ContentTypesByExtension)
{
    STRCMP_EQUAL("text/html; charset=utf-8", zumzi::StaticFiles::content_type("A.HTML"));
    STRCMP_EQUAL("application/wasm", zumzi::StaticFiles::content_type("x.wasm"));
    STRCMP_EQUAL("application/octet-stream", zumzi::StaticFiles::content_type("Makefile"));
}
