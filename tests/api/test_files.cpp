// Files: uploads as a raw body or multipart/form-data, the type sniffed from
// the bytes, names that are paths refused, the size limit, truncated uploads
// storing nothing, downloads only by members of the conversation the file
// was sent in, 100x100 thumbnails (checked by decoding them with GStreamer),
// files in messages, and profile photos.
#include <gio/gio.h>
#include <gst/gst.h>

#include <filesystem>
#include <string>

#include "thumbnail.h"
#include "ws_client.h"

using namespace zumzi_test;

namespace {

// One encoded picture made by GStreamer: `encoder` is "jpegenc" or "pngenc".
std::string test_image(int width, int height, const char* encoder)
{
    gst_init(nullptr, nullptr);
    g_autofree char* description = g_strdup_printf(
        "videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,width=%d,height=%d ! "
        "videoconvert ! %s ! appsink name=sink",
        width, height, encoder);
    GstElement* pipeline = gst_parse_launch(description, nullptr);
    CHECK_TRUE(pipeline != nullptr);
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstSample* sample = nullptr;
    g_signal_emit_by_name(sink, "try-pull-sample", 10 * GST_SECOND, &sample);
    std::string out;
    if (sample) {
        GstMapInfo map;
        GstBuffer* buffer = gst_sample_get_buffer(sample);
        if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
            out.assign(reinterpret_cast<const char*>(map.data), map.size);
            gst_buffer_unmap(buffer, &map);
        }
        gst_sample_unref(sample);
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    CHECK_TRUE(!out.empty());
    return out;
}

std::string multipart(const std::string& field, const std::string& filename,
                      const std::string& claimed_type, const std::string& data)
{
    return "--XyZzY\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"" +
           filename + "\"\r\nContent-Type: " + claimed_type + "\r\n\r\n" + data +
           "\r\n--XyZzY--\r\n";
}

size_t stored_files(const TestServer& server)
{
    const std::filesystem::path dir = server.config().data_dir + "/files";
    if (!std::filesystem::exists(dir))
        return 0;
    size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        (void)entry;
        n++;
    }
    return n;
}

void check_ws_error(const Response& r, const char* code)
{
    CHECK_EQUAL_TEXT(std::string("error"), r.str("type"), r.body.c_str());
    CHECK_EQUAL_TEXT(std::string(code), r.str("error.code"), r.body.c_str());
}

}  // namespace

TEST_GROUP(Files)
{
    std::unique_ptr<TestServer> server;
    TestUser ann, bob, cat;
    void setup() override
    {
        server = std::make_unique<TestServer>(
            [](zumzi::Config& c) { c.max_upload_bytes = 2 * 1024 * 1024; });
        ann = server->make_user("ann@example.com", "Ann");
        bob = server->make_user("bob@example.com", "Bob");
        cat = server->make_user("cat@example.com", "Cat");
    }
    void teardown() override
    {
        server.reset();
    }

    Response upload_raw(const TestUser& user, const std::string& name, const std::string& data)
    {
        RequestOptions options;
        options.content_type = "application/octet-stream";
        return server->request("POST", "/api/v1/files?name=" + name, data, user.token, options);
    }
    Response upload_multipart(const TestUser& user, const std::string& body)
    {
        RequestOptions options;
        options.content_type = "multipart/form-data; boundary=XyZzY";
        return server->request("POST", "/api/v1/files", body, user.token, options);
    }
};

TEST(Files, RawUploadIsSniffedAndGetsAThumbnail)
{
    const std::string jpeg = test_image(320, 200, "jpegenc");
    Response r = upload_raw(ann, "holiday.png", jpeg);
    CHECK_STATUS(r, 201);
    CHECK_EQUAL("holiday.png", r.str("name"));
    CHECK_EQUAL("image/jpeg", r.str("content_type"));  // the bytes, not the name
    CHECK_EQUAL(static_cast<int64_t>(jpeg.size()), r.num("size"));
    CHECK_EQUAL(320, r.num("width"));
    CHECK_EQUAL(200, r.num("height"));
    const std::string id = r.str("id");
    CHECK_EQUAL("/api/v1/files/" + id + "/thumbnail", r.str("thumbnail_url"));
    CHECK_EQUAL(2u, stored_files(*server));  // the file and its thumbnail

    Response body = server->get("/api/v1/files/" + id, ann.token);
    CHECK_STATUS(body, 200);
    CHECK_TRUE(body.body == jpeg);
    CHECK_EQUAL("image/jpeg", body.header("content-type"));
    STRCMP_CONTAINS("holiday.png", body.header("content-disposition").c_str());

    Response thumb = server->get("/api/v1/files/" + id + "/thumbnail", ann.token);
    CHECK_STATUS(thumb, 200);
    CHECK_EQUAL("image/jpeg", thumb.header("content-type"));
    zumzi::media::ImageSize size;
    std::string error;
    CHECK_TEXT(zumzi::media::image_size(thumb.body, size, error), error.c_str());
    CHECK_EQUAL(100, size.width);
    CHECK_EQUAL(100, size.height);
}

TEST(Files, MultipartUploadsAndSniffing)
{
    const std::string png = test_image(64, 160, "pngenc");
    Response r = upload_multipart(ann, multipart("file", "tall.jpg", "image/jpeg", png));
    CHECK_STATUS(r, 201);
    CHECK_EQUAL("tall.jpg", r.str("name"));
    CHECK_EQUAL("image/png", r.str("content_type"));
    Response thumb = server->get("/api/v1/files/" + r.str("id") + "/thumbnail", ann.token);
    zumzi::media::ImageSize size;
    std::string error;
    CHECK_TEXT(zumzi::media::image_size(thumb.body, size, error), error.c_str());
    CHECK_EQUAL(100, size.width);
    CHECK_EQUAL(100, size.height);

    Response text = upload_multipart(
        ann, multipart("file", "notes.exe", "application/x-msdownload", "shopping: milk, bread\n"));
    CHECK_STATUS(text, 201);
    CHECK_EQUAL("text/plain", text.str("content_type"));
    CHECK_TRUE(text.is_null("thumbnail_url"));
    CHECK_ERROR(server->get("/api/v1/files/" + text.str("id") + "/thumbnail", ann.token), 404,
                "NOTFOUND");

    Response binary = upload_raw(ann, "blob", std::string("\x00\x01\x02\x03", 4));
    CHECK_EQUAL("application/octet-stream", binary.str("content_type"));
    // Something that says it is a JPEG but is not: stored, no thumbnail.
    Response fake = upload_raw(ann, "fake.jpg", std::string("\xFF\xD8\xFF\xE0 not really", 15));
    CHECK_STATUS(fake, 201);
    CHECK_EQUAL("image/jpeg", fake.str("content_type"));
    CHECK_TRUE(fake.is_null("thumbnail_url"));
}

TEST(Files, BadUploadsStoreNothing)
{
    CHECK_ERROR(upload_raw(ann, "..%2Fetc%2Fpasswd", "x"), 400, "BADREQUEST");
    CHECK_ERROR(upload_raw(ann, "a%2Fb.txt", "x"), 400, "BADREQUEST");
    CHECK_ERROR(upload_raw(ann, "..", "x"), 400, "BADREQUEST");
    CHECK_ERROR(upload_raw(ann, "c%3A%5Cwin.ini", "x"), 400, "BADREQUEST");
    // libsoup strips the directories from a multipart file name.
    Response stripped = upload_multipart(ann, multipart("file", "../../x.txt", "text/plain", "x"));
    CHECK_STATUS(stripped, 201);
    CHECK_EQUAL("x.txt", stripped.str("name"));
    CHECK_STATUS(server->del("/api/v1/files/" + stripped.str("id"), ann.token), 405);
    CHECK_ERROR(upload_multipart(ann, multipart("other", "x.txt", "text/plain", "x")), 400,
                "BADREQUEST");
    CHECK_ERROR(upload_multipart(ann, "--XyZzY\r\ngarbage"), 400, "BADREQUEST");
    CHECK_ERROR(upload_raw(ann, "empty", ""), 400, "BADREQUEST");
    CHECK_ERROR(upload_raw(ann, "big", std::string(2 * 1024 * 1024 + 1, 'x')), 413, "TOOLARGE");
    CHECK_ERROR(upload_raw(TestUser{}, "x", "x"), 401, "AUTHFAIL");
    CHECK_EQUAL(1u, stored_files(*server));  // x.txt only
    // Above max_body_bytes (1 MiB) but within max_upload_bytes: fine.
    CHECK_STATUS(upload_raw(ann, "big", std::string(1536 * 1024, 'x')), 201);
    CHECK_EQUAL(2u, stored_files(*server));
}

TEST(Files, TruncatedUploadStoresNothing)
{
    const std::string url = server->url();
    const int port = std::stoi(url.substr(url.rfind(':') + 1));
    for (bool chunked : {false, true}) {
        g_autoptr(GSocketClient) client = g_socket_client_new();
        g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host(
            client, "127.0.0.1", static_cast<guint16>(port), nullptr, nullptr);
        CHECK_TRUE(conn != nullptr);
        GOutputStream* out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
        std::string request =
            "POST /api/v1/files?name=cut.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Authorization: Bearer " +
            ann.token + "\r\n";
        request += chunked ? "Transfer-Encoding: chunked\r\n\r\n1000\r\n" + std::string(4096, 'a')
                           : "Content-Length: 100000\r\n\r\n" + std::string(50000, 'a');
        CHECK_TRUE(g_output_stream_write_all(out, request.data(), request.size(), nullptr, nullptr,
                                             nullptr));
        g_io_stream_close(G_IO_STREAM(conn), nullptr, nullptr);
    }
    // The server has seen both connections end by the time it answers this.
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(server->get("/api/v1/health"), 200);
    CHECK_EQUAL(0u, stored_files(*server));
    CHECK_STATUS(upload_raw(ann, "whole.bin", "complete"), 201);
}

TEST(Files, OnlyMembersOfTheConversationDownload)
{
    AppKey other = server->create_app("Other");
    TestUser eve = server->make_user("eve@example.com", "Eve", other.key);
    const std::string jpeg = test_image(120, 90, "jpegenc");
    const std::string id = upload_raw(ann, "cat.jpg", jpeg).str("id");
    // Not sent anywhere yet: only the uploader.
    CHECK_ERROR(server->get("/api/v1/files/" + id, bob.token), 403, "PERMISSION");

    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    a.send("{\"type\":\"send\",\"id\":\"1\",\"user\":" + json_string(bob.id) +
           ",\"client_id\":\"f1\",\"file\":" + json_string(id) + ",\"text\":\"look\"}");
    Response sent = a.next("sent");
    CHECK_EQUAL(id, sent.str("message.file.id"));
    Response got = b.next("message");
    CHECK_EQUAL("look", got.str("message.text"));
    CHECK_EQUAL(id, got.str("message.file.id"));
    CHECK_EQUAL("cat.jpg", got.str("message.file.name"));
    CHECK_EQUAL("image/jpeg", got.str("message.file.content_type"));
    CHECK_EQUAL(120, got.num("message.file.width"));
    CHECK_EQUAL("/api/v1/files/" + id + "/thumbnail", got.str("message.file.thumbnail_url"));

    Response download = server->get("/api/v1/files/" + id, bob.token);
    CHECK_STATUS(download, 200);
    CHECK_TRUE(download.body == jpeg);
    CHECK_STATUS(server->get("/api/v1/files/" + id + "/thumbnail", bob.token), 200);
    CHECK_ERROR(server->get("/api/v1/files/" + id, cat.token), 403, "PERMISSION");
    CHECK_ERROR(server->get("/api/v1/files/" + id + "/thumbnail", cat.token), 403, "PERMISSION");
    CHECK_ERROR(server->get("/api/v1/files/" + id, eve.token), 404, "NOTFOUND");
    // History shows the attachment; a file alone (no caption) is a message too.
    CHECK_EQUAL(id,
                server
                    ->get("/api/v1/conversations/" + sent.str("message.conversation") + "/messages",
                          bob.token)
                    .str("messages.0.file.id"));
    b.send("{\"type\":\"send\",\"id\":\"2\",\"user\":" + json_string(cat.id) +
           ",\"client_id\":\"f2\",\"file\":" + json_string(id) + "}");
    CHECK_EQUAL("", b.next("sent").str("message.text"));
    CHECK_STATUS(server->get("/api/v1/files/" + id, cat.token), 200);

    // Cat cannot attach a file she cannot read.
    const std::string secret = upload_raw(ann, "secret.txt", "secret").str("id");
    WsClient c(*server, cat.token);
    c.send("{\"type\":\"send\",\"id\":\"3\",\"user\":" + json_string(ann.id) +
           ",\"client_id\":\"f3\",\"file\":" + json_string(secret) + "}");
    check_ws_error(c.next("error"), "NOTFOUND");
    c.send("{\"type\":\"send\",\"id\":\"4\",\"user\":" + json_string(ann.id) +
           ",\"client_id\":\"f4\",\"file\":\"f_nosuchfile\"}");
    check_ws_error(c.next("error"), "NOTFOUND");
}

TEST(Files, ProfilePhotoIsAPublicThumbnail)
{
    const std::string jpeg = test_image(400, 300, "jpegenc");
    RequestOptions options;
    options.content_type = "image/jpeg";
    Response r =
        server->request("POST", "/api/v1/profile/photo?name=me.jpg", jpeg, ann.token, options);
    CHECK_STATUS(r, 200);
    const std::string url = r.str("photo_url");
    CHECK_EQUAL("/api/v1/files/" + r.str("photo.id") + "/thumbnail", url);
    CHECK_EQUAL(url, server->get("/api/v1/profile", ann.token).str("photo_url"));
    // Anyone in the app sees it.
    Response thumb = server->get(url, cat.token);
    CHECK_STATUS(thumb, 200);
    zumzi::media::ImageSize size;
    std::string error;
    CHECK_TEXT(zumzi::media::image_size(thumb.body, size, error), error.c_str());
    CHECK_EQUAL(100, size.width);
    CHECK_EQUAL(100, size.height);

    CHECK_ERROR(
        server->request("POST", "/api/v1/profile/photo", "not a picture", ann.token, options), 400,
        "BADREQUEST");
    CHECK_EQUAL(url, server->get("/api/v1/profile", ann.token).str("photo_url"));
}

TEST(Files, APictureClaimingAHugeSizeIsNotDecoded)
{
    // A real 64x48 JPEG whose frame header (SOF0) claims 20000x20000: a
    // decoder would allocate over a gigabyte for it.
    std::string jpeg = test_image(64, 48, "jpegenc");
    const size_t sof = jpeg.find("\xff\xc0");
    CHECK_TRUE(sof != std::string::npos);
    // FFC0, length (2), precision (1), height (2), width (2).
    jpeg[sof + 5] = jpeg[sof + 7] = static_cast<char>(20000 >> 8);
    jpeg[sof + 6] = jpeg[sof + 8] = static_cast<char>(20000 & 0xff);
    zumzi::media::ImageSize size;
    std::string error;
    CHECK_FALSE(zumzi::media::image_size(jpeg, size, error));

    RequestOptions options;
    options.content_type = "image/jpeg";
    CHECK_ERROR(server->request("POST", "/api/v1/profile/photo", jpeg, ann.token, options), 400,
                "BADREQUEST");
    CHECK_EQUAL("", server->get("/api/v1/profile", ann.token).str("photo_url"));
}

TEST(Files, DeletingTheUploaderKeepsOthersMessages)
{
    const std::string id = upload_raw(ann, "doc.txt", "shared notes").str("id");
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    a.send("{\"type\":\"send\",\"id\":\"1\",\"user\":" + json_string(bob.id) +
           ",\"client_id\":\"d1\",\"file\":" + json_string(id) + "}");
    const int64_t original = a.next("sent").num("message.id");
    b.send("{\"type\":\"send\",\"id\":\"2\",\"user\":" + json_string(cat.id) +
           ",\"client_id\":\"d2\",\"forward\":" + std::to_string(original) + "}");
    Response forwarded = b.next("sent");
    CHECK_EQUAL(id, forwarded.str("message.file.id"));

    CHECK_STATUS(server->del("/api/v1/admin/users/" + ann.id, server->api_key()), 200);
    // Bob's forward stays, without the file that went with its uploader.
    Response history = server->get(
        "/api/v1/conversations/" + forwarded.str("message.conversation") + "/messages", cat.token);
    CHECK_STATUS(history, 200);
    CHECK_EQUAL(forwarded.num("message.id"), history.num("messages.0.id"));
    CHECK_FALSE(history.has("messages.0.file"));
    CHECK_ERROR(server->get("/api/v1/files/" + id, cat.token), 404, "NOTFOUND");
}

TEST(Files, GroupPhotoByAdminsOnly)
{
    Response g =
        server->post("/api/v1/groups",
                     "{\"name\":\"Team\",\"members\":[" + json_string(bob.id) + "]}", ann.token);
    CHECK_STATUS(g, 201);
    const std::string path = "/api/v1/groups/" + g.str("id") + "/photo";
    const std::string jpeg = test_image(200, 120, "jpegenc");
    RequestOptions options;
    options.content_type = "image/jpeg";
    CHECK_ERROR(server->request("POST", path, jpeg, bob.token, options), 403, "PERMISSION");
    CHECK_ERROR(server->request("POST", path, jpeg, cat.token, options), 403, "NOTMEMBER");
    CHECK_EQUAL(0u, stored_files(*server));
    Response r = server->request("POST", path, jpeg, ann.token, options);
    CHECK_STATUS(r, 200);
    const std::string url = r.str("photo_url");
    STRCMP_CONTAINS("/thumbnail", url.c_str());
    Response thumb = server->get(url, cat.token);
    CHECK_STATUS(thumb, 200);
    zumzi::media::ImageSize size;
    std::string error;
    CHECK_TEXT(zumzi::media::image_size(thumb.body, size, error), error.c_str());
    CHECK_EQUAL(100, size.width);
    CHECK_EQUAL(100, size.height);
}
