// Live output over REST and the WebSocket, as far as it goes without media:
// who may start and stop the HLS stream, an RTMP push or a recording, and
// every refusal (bad kind or URL, unknown room, nobody in the room); the
// HLS files at /live/{room}/ (access by PIN or token, path tricks, cache
// headers, the playlist rewritten for its query) from files the test
// writes into the room's live directory; recordings listed, downloaded and
// deleted by who may; and joining with "media": false (roster and chat,
// no media). The media itself (HLS segments that decode, RTMP to nginx,
// recordings ffprobe reads, RTMP retries) is tests/integration/test_live.cpp.
#include <glib/gstdio.h>

#include "live_output.h"
#include "test_server.h"
#include "ws_client.h"

using namespace zumzi_test;

namespace {

std::string join_msg(const std::string& room, const std::string& pin, const std::string& id,
                     bool media = true)
{
    std::string m =
        "{\"type\":\"join\",\"id\":" + json_string(id) + ",\"room\":" + json_string(room);
    if (!pin.empty())
        m += ",\"pin\":" + json_string(pin);
    if (!media)
        m += ",\"media\":false";
    return m + "}";
}

void write_file(const std::string& path, const std::string& content)
{
    g_autofree char* dir = g_path_get_dirname(path.c_str());
    CHECK_EQUAL(0, g_mkdir_with_parents(dir, 0700));
    CHECK_TRUE(g_file_set_contents(path.c_str(), content.data(),
                                   static_cast<gssize>(content.size()), nullptr));
}

const char* const kPlaylist =
    "#EXTM3U\n"
    "#EXT-X-VERSION:3\n"
    "#EXT-X-MEDIA-SEQUENCE:3\n"
    "#EXT-X-TARGETDURATION:2\n"
    "#EXTINF:2.000,\n"
    "segment-1795617300000-00003.ts\n"
    "#EXTINF:2.000,\n"
    "segment-1795617300000-00004.ts\n";

}  // namespace

TEST_GROUP(Live)
{
    std::unique_ptr<TestServer> server;
    TestUser ann, bob, cat, dan;
    RoomInfo room;

    void setup() override
    {
        server = std::make_unique<TestServer>();
        ann = server->make_user("ann@example.com", "Ann");
        bob = server->make_user("bob@example.com", "Bob");
        cat = server->make_user("cat@example.com", "Cat");
        dan = server->make_user("dan@example.com", "Dan");
        room = server->create_room(ann);
        // Bob publishes, Cat views; Dan is no member.
        CHECK_STATUS(server->post(path("/join"),
                                  "{\"pin\":" + json_string(room.participant_pin) + "}", bob.token),
                     200);
        CHECK_STATUS(server->post(path("/join"), "{\"pin\":" + json_string(room.viewer_pin) + "}",
                                  cat.token),
                     200);
    }
    void teardown() override
    {
        server.reset();
    }

    std::string path(const std::string& rest = {})
    {
        return "/api/v1/rooms/" + room.id + rest;
    }

    void grant(const TestUser& user, const std::string& permissions)
    {
        CHECK_STATUS(server->patch(path("/members/" + user.id),
                                   "{\"permissions\":[" + permissions + "]}", ann.token),
                     200);
    }

    // A finished recording as the engine leaves it: the row and the file.
    std::string add_recording(const std::string& id, const std::string& state,
                              const std::string& bytes)
    {
        const std::string room_id = room.id;
        const std::string user_id = ann.id;
        server->run_on_server([&](zumzi::Store& store, zumzi::Server&) {
            store.create_recording(zumzi::Recording{id, room_id, user_id, 1000, 5000,
                                                    static_cast<int64_t>(bytes.size()), state});
        });
        write_file(zumzi::recording_path(server->config(), room.id, id), bytes);
        return id;
    }

    Response get_with(const std::string& url, const Headers& headers)
    {
        RequestOptions options;
        options.headers = headers;
        options.send_body = false;
        return server->request("GET", url, {}, {}, options);
    }
};

// ---- who may start what ----------------------------------------------------------------

TEST(Live, OnlyModeratorsStreamAndRecordHoldersRecord)
{
    for (const char* kind : {"hls", "record"}) {
        const std::string body = std::string("{\"kind\":\"") + kind + "\"}";
        CHECK_ERROR(server->post(path("/live"), body, bob.token), 403, "PERMISSION");
        CHECK_ERROR(server->post(path("/live"), body, cat.token), 403, "PERMISSION");
        CHECK_ERROR(server->post(path("/live"), body, dan.token), 403, "NOTMEMBER");
        CHECK_ERROR(server->post(path("/live"), body, ""), 401, "AUTHFAIL");
    }
    CHECK_ERROR(server->post(path("/live"), "{\"kind\":\"rtmp\",\"url\":\"rtmp://127.0.0.1/a/b\"}",
                             bob.token),
                403, "PERMISSION");

    // Cat gets 'record': she may record (past the permission check, to the
    // empty room), never stream.
    grant(cat, "\"subscribe\",\"record\"");
    CHECK_ERROR(server->post(path("/live"), "{\"kind\":\"record\"}", cat.token), 409, "ROOMIDLE");
    CHECK_ERROR(server->post(path("/live"), "{\"kind\":\"hls\"}", cat.token), 403, "PERMISSION");
    CHECK_ERROR(server->del(path("/live/hls"), cat.token), 403, "PERMISSION");
    CHECK_ERROR(server->del(path("/live/record"), cat.token), 404, "NOTFOUND");
    CHECK_ERROR(server->patch(path("/live"), "{\"layout\":\"speaker\"}", cat.token), 403,
                "PERMISSION");

    // A moderator gets to the room, where nobody is.
    grant(bob, "\"publish\",\"moderate\"");
    CHECK_ERROR(server->post(path("/live"), "{\"kind\":\"hls\"}", bob.token), 409, "ROOMIDLE");
    CHECK_ERROR(server->post(path("/live"), "{\"kind\":\"record\"}", bob.token), 409, "ROOMIDLE");
    CHECK_ERROR(server->patch(path("/live"), "{\"layout\":\"speaker\"}", bob.token), 409,
                "ROOMIDLE");

    // Nothing started: every member sees an empty live state.
    for (const TestUser* u : {&ann, &bob, &cat}) {
        Response live = server->get(path("/live"), u->token);
        CHECK_STATUS(live, 200);
        CHECK_EQUAL(std::string("grid"), live.str("layout"));
        CHECK_EQUAL(0, live.count("outputs"));
    }
    CHECK_ERROR(server->get(path("/live"), dan.token), 403, "NOTMEMBER");
}

TEST(Live, BadRequestsAreRefusedAndChangeNothing)
{
    struct Case {
        const char* body;
        int status;
        const char* code;
    } cases[] = {
        {"{}", 400, "BADREQUEST"},
        {"{\"kind\":\"dash\"}", 400, "BADREQUEST"},
        {"{\"kind\":7}", 400, "BADREQUEST"},
        {"{\"kind\":\"rtmp\"}", 400, "BADREQUEST"},
        {"{\"kind\":\"rtmp\",\"url\":\"\"}", 400, "BADREQUEST"},
        {"{\"kind\":\"rtmp\",\"url\":\"http://127.0.0.1/live/key\"}", 400, "BADREQUEST"},
        {"{\"kind\":\"rtmp\",\"url\":\"rtmp:///live/key\"}", 400, "BADREQUEST"},
        {"{\"kind\":\"rtmp\",\"url\":\"rtmp://127.0.0.1/live/a key\"}", 400, "BADREQUEST"},
        {"{\"kind\":\"rtmp\",\"url\":\"file:///etc/passwd\"}", 400, "BADREQUEST"},
        {"not json", 400, "BADREQUEST"},
    };
    for (const Case& c : cases) {
        Response r = server->post(path("/live"), c.body, ann.token);
        CHECK_EQUAL_TEXT(c.status, r.status, (std::string(c.body) + " -> " + r.body).c_str());
        CHECK_EQUAL_TEXT(std::string(c.code), r.error_code(), c.body);
    }
    CHECK_ERROR(server->post("/api/v1/rooms/nosuchroom/live", "{\"kind\":\"hls\"}", ann.token), 404,
                "NOTFOUND");
    CHECK_ERROR(server->get("/api/v1/rooms/nosuchroom/live", ann.token), 404, "NOTFOUND");
    CHECK_ERROR(server->del(path("/live/dash"), ann.token), 400, "BADREQUEST");
    CHECK_ERROR(server->del(path("/live/hls"), ann.token), 404, "NOTFOUND");
    CHECK_ERROR(server->patch(path("/live"), "{\"layout\":\"mosaic\"}", ann.token), 400,
                "BADREQUEST");
    CHECK_ERROR(server->patch(path("/live"), "{}", ann.token), 400, "BADREQUEST");
    // A valid RTMP URL gets as far as the empty room.
    CHECK_ERROR(
        server->post(path("/live"),
                     "{\"kind\":\"rtmp\",\"url\":\"rtmps://127.0.0.1:1935/live/key\"}", ann.token),
        409, "ROOMIDLE");
    CHECK_EQUAL(0, server->get(path("/live"), ann.token).count("outputs"));
}

TEST(Live, WebSocketRequestsFollowTheSameRules)
{
    WsClient c(*server, cat.token);
    Response joined = c.request(join_msg(room.id, "", "j"), "j");
    CHECK_EQUAL(std::string("joined"), joined.str("type"));
    CHECK_EQUAL(std::string("grid"), joined.str("live.layout"));
    CHECK_EQUAL(0, joined.count("live.outputs"));

    Response refused =
        c.request("{\"type\":\"live_start\",\"id\":\"1\",\"room\":" + json_string(room.id) +
                      ",\"kind\":\"hls\"}",
                  "1");
    CHECK_EQUAL(std::string("error"), refused.str("type"));
    CHECK_EQUAL(std::string("PERMISSION"), refused.str("error.code"));
    Response layout =
        c.request("{\"type\":\"live_layout\",\"id\":\"2\",\"room\":" + json_string(room.id) +
                      ",\"layout\":\"pip\"}",
                  "2");
    CHECK_EQUAL(std::string("PERMISSION"), layout.str("error.code"));

    WsClient a(*server, ann.token);
    Response bad =
        a.request("{\"type\":\"live_start\",\"id\":\"3\",\"room\":" + json_string(room.id) +
                      ",\"kind\":\"rtmp\",\"url\":\"udp://x\"}",
                  "3");
    CHECK_EQUAL(std::string("BADREQUEST"), bad.str("error.code"));
    Response stop =
        a.request("{\"type\":\"live_stop\",\"id\":\"4\",\"room\":" + json_string(room.id) +
                      ",\"kind\":\"record\"}",
                  "4");
    CHECK_EQUAL(std::string("NOTFOUND"), stop.str("error.code"));
}

TEST(Live, ALayoutChangeReachesTheOtherModeratorsAndABadOneChangesNothing)
{
    // Ann (owner) in the call, Bob a second moderator in it, Cat a viewer.
    grant(bob, "\"publish\",\"subscribe\",\"moderate\"");
    WsClient a(*server, ann.token);
    CHECK_EQUAL(std::string("joined"), a.request(join_msg(room.id, "", "ja"), "ja").str("type"));
    WsClient b(*server, bob.token);
    CHECK_EQUAL(std::string("joined"),
                b.request(join_msg(room.id, "", "jb", false), "jb").str("type"));
    WsClient c(*server, cat.token);
    CHECK_EQUAL(std::string("joined"),
                c.request(join_msg(room.id, "", "jc", false), "jc").str("type"));

    // Ann picks speaker: Bob's live controls hear it (the layout, no output).
    Response ack = a.request("{\"type\":\"live_layout\",\"id\":\"1\",\"room\":" +
                                 json_string(room.id) + ",\"layout\":\"speaker\"}",
                             "1");
    CHECK_EQUAL(std::string("ack"), ack.str("type"));
    Response seen = b.next("live_status");
    CHECK_EQUAL(room.id, seen.str("room"));
    CHECK_EQUAL(std::string("speaker"), seen.str("layout"));
    CHECK_FALSE(seen.has("output"));
    // Everyone in the room may see the layout (GET /live gives it to members).
    CHECK_EQUAL(std::string("speaker"), c.next("live_status").str("layout"));

    // Bob changes it over REST: Ann hears it.
    CHECK_STATUS(server->patch(path("/live"), "{\"layout\":\"pip\"}", bob.token), 200);
    CHECK_EQUAL(std::string("speaker"), a.next("live_status").str("layout"));  // her own
    CHECK_EQUAL(std::string("pip"), a.next("live_status").str("layout"));
    CHECK_EQUAL(std::string("pip"), b.next("live_status").str("layout"));
    CHECK_EQUAL(std::string("pip"), c.next("live_status").str("layout"));

    // A bad layout is refused, changes nothing and tells nobody.
    Response bad = b.request("{\"type\":\"live_layout\",\"id\":\"2\",\"room\":" +
                                 json_string(room.id) + ",\"layout\":\"mosaic\"}",
                             "2");
    CHECK_EQUAL(std::string("error"), bad.str("type"));
    CHECK_EQUAL(std::string("BADREQUEST"), bad.str("error.code"));
    CHECK_ERROR(server->patch(path("/live"), "{\"layout\":7}", ann.token), 400, "BADREQUEST");
    // Setting the layout it has already is no change either.
    CHECK_STATUS(server->patch(path("/live"), "{\"layout\":\"pip\"}", ann.token), 200);
    a.sync();
    b.sync();
    c.sync();
    CHECK_FALSE(a.has_queued("live_status"));
    CHECK_FALSE(b.has_queued("live_status"));
    CHECK_FALSE(c.has_queued("live_status"));
    CHECK_EQUAL(std::string("pip"), server->get(path("/live"), cat.token).str("layout"));
}

// ---- HLS files --------------------------------------------------------------------------

TEST(Live, HlsNeedsAPinOrAMembersToken)
{
    const std::string dir = zumzi::live_dir(server->config(), room.id);
    write_file(dir + "/index.m3u8", kPlaylist);
    const std::string segment(1000, '\x47');  // TS sync bytes
    write_file(dir + "/segment-1795617300000-00003.ts", segment);
    const std::string playlist = "/live/" + room.id + "/index.m3u8";

    CHECK_ERROR(server->get(playlist), 401, "AUTHFAIL");
    CHECK_ERROR(server->get(playlist + "?pin=12345678"), 403, "BADPIN");
    CHECK_ERROR(server->get(playlist + "?token=nonsense"), 403, "BADPIN");
    CHECK_ERROR(server->get(playlist + "?token=" + dan.token), 403, "NOTMEMBER");
    CHECK_ERROR(get_with(playlist, {{"Authorization", "Bearer 87654321"}}), 403, "BADPIN");
    CHECK_ERROR(server->get("/live/nosuchroom/index.m3u8?pin=" + room.viewer_pin), 404, "NOTFOUND");

    // Both PINs, a member's token as query or bearer.
    for (const std::string& query :
         {"pin=" + room.viewer_pin, "pin=" + room.participant_pin, "token=" + cat.token}) {
        Response r = server->get(playlist + "?" + query);
        CHECK_STATUS(r, 200);
        CHECK_EQUAL(std::string("application/vnd.apple.mpegurl"), r.header("content-type"));
        CHECK_EQUAL(std::string("no-cache"), r.header("cache-control"));
        // Each segment URI carries the query the playlist came with.
        CHECK_TRUE(r.body.find("\nsegment-1795617300000-00003.ts?" + query + "\n") !=
                   std::string::npos);
        CHECK_TRUE(r.body.find("\nsegment-1795617300000-00004.ts?" + query + "\n") !=
                   std::string::npos);
        CHECK_TRUE(r.body.find("#EXT-X-MEDIA-SEQUENCE:3\n") != std::string::npos);
        CHECK_TRUE(r.body.find("#EXTINF:2.000,\n") != std::string::npos);
    }
    Response bearer = get_with(playlist, {{"Authorization", "Bearer " + room.viewer_pin}});
    CHECK_STATUS(bearer, 200);
    CHECK_EQUAL(std::string(kPlaylist), bearer.body);  // nothing to carry: as written

    Response seg =
        server->get("/live/" + room.id + "/segment-1795617300000-00003.ts?pin=" + room.viewer_pin);
    CHECK_STATUS(seg, 200);
    CHECK_EQUAL(segment, seg.body);
    CHECK_EQUAL(std::string("video/mp2t"), seg.header("content-type"));
    CHECK_EQUAL(std::string("public, max-age=3600, immutable"), seg.header("cache-control"));
    CHECK_EQUAL(std::string("*"), seg.header("access-control-allow-origin"));
    CHECK_ERROR(server->get("/live/" + room.id + "/segment-1795617300000-00003.ts"), 401,
                "AUTHFAIL");
    // Not (or no longer) on disk: not live.
    CHECK_ERROR(
        server->get("/live/" + room.id + "/segment-1795617300000-00009.ts?pin=" + room.viewer_pin),
        404, "NOTFOUND");

    // A member whose 'subscribe' was taken away may not watch.
    grant(cat, "\"list\"");
    CHECK_ERROR(server->get(playlist + "?token=" + cat.token), 403, "PERMISSION");
}

TEST(Live, HlsServesOnlyThePlaylistAndSegments)
{
    const std::string dir = zumzi::live_dir(server->config(), room.id);
    write_file(dir + "/index.m3u8", kPlaylist);
    write_file(dir + "/segment-1795617300000-00003.ts", "ts");
    write_file(dir + "/notes.txt", "not for viewers");
    write_file(dir + "/segment-1795617300000-00003.ts.tmp", "partial");
    const std::string q = "?pin=" + room.viewer_pin;
    const std::string base = "/live/" + room.id + "/";
    for (const std::string& name :
         {std::string("notes.txt"), std::string("segment-1795617300000-00003.ts.tmp"),
          std::string("%2e%2e"), std::string("..%2f..%2fzumzi.db"),
          std::string("%2e%2e%2fzumzi.db"), std::string("index.m3u8%00"),
          std::string("segment-1795617300000-00003.ts%2f"), std::string("segment.ts"),
          std::string("segment-1_2.ts"), std::string("segment-1.ts.ts"), std::string(".index.m3u8"),
          std::string("INDEX.M3U8")}) {
        // 404 from the server, or 400 from libsoup for URIs it will not
        // take apart (an encoded '/' next to dots); never the file.
        Response r = server->get(base + name + q);
        CHECK_TEXT(r.status == 404 || r.status == 400, (name + " -> " + r.describe()).c_str());
    }
    // Deeper paths match no route at all.
    CHECK_EQUAL(404, server->get(base + "x/index.m3u8" + q).status);
    const int tricked =
        server->get("/live/" + room.id + "%2f..%2f" + room.id + "/index.m3u8" + q).status;
    CHECK_TRUE(tricked == 404 || tricked == 400);
    // The real ones are served.
    CHECK_STATUS(server->get(base + "index.m3u8" + q), 200);
    CHECK_STATUS(server->get(base + "segment-1795617300000-00003.ts" + q), 200);
}

// ---- recordings -----------------------------------------------------------------------------

TEST(Live, RecordingsAreForRecordHoldersAndDeletedByModerators)
{
    const std::string bytes = std::string(
                                  "\0\0\0\x18"
                                  "ftypmp42",
                                  12) +
                              std::string(500, 'x');
    add_recording("rec_older", "done", "old");
    const std::string id = add_recording("rec_first", "done", bytes);

    CHECK_ERROR(server->get(path("/recordings"), bob.token), 403, "PERMISSION");
    CHECK_ERROR(server->get(path("/recordings"), dan.token), 403, "NOTMEMBER");
    grant(cat, "\"subscribe\",\"record\"");
    Response list = server->get(path("/recordings"), cat.token);
    CHECK_STATUS(list, 200);
    CHECK_EQUAL(2, list.count("recordings"));
    const std::string at = list.find("recordings", "id", id);
    CHECK_EQUAL(std::string("done"), list.str(at + ".state"));
    CHECK_EQUAL(static_cast<int64_t>(bytes.size()), list.num(at + ".size"));
    CHECK_EQUAL(5000, list.num(at + ".duration_ms"));
    CHECK_EQUAL(1000, list.num(at + ".started_at"));
    const std::string url = list.str(at + ".url");
    CHECK_EQUAL(path("/recordings/" + id + "/file"), url);

    // Downloads: bearer or ?token=, as an attachment.
    for (Response r : {server->get(url, cat.token), server->get(url + "?token=" + cat.token)}) {
        CHECK_STATUS(r, 200);
        CHECK_EQUAL(bytes, r.body);
        CHECK_EQUAL(std::string("video/mp4"), r.header("content-type"));
        CHECK_TRUE(r.header("content-disposition").find("attachment") == 0);
        CHECK_TRUE(r.header("content-disposition").find(id + ".mp4") != std::string::npos);
    }
    CHECK_ERROR(server->get(url, bob.token), 403, "PERMISSION");
    CHECK_ERROR(server->get(url + "?token=" + bob.token), 403, "PERMISSION");
    CHECK_ERROR(server->get(url), 401, "AUTHFAIL");
    CHECK_ERROR(server->get(url + "?token=nonsense"), 401, "AUTHFAIL");
    CHECK_ERROR(server->get(path("/recordings/rec_nope/file"), cat.token), 404, "NOTFOUND");

    // Deleting takes 'moderate'.
    CHECK_ERROR(server->del(path("/recordings/" + id), cat.token), 403, "PERMISSION");
    Response deleted = server->del(path("/recordings/" + id), ann.token);
    CHECK_STATUS(deleted, 204);
    CHECK_FALSE(g_file_test(zumzi::recording_path(server->config(), room.id, id).c_str(),
                            G_FILE_TEST_EXISTS));
    CHECK_ERROR(server->del(path("/recordings/" + id), ann.token), 404, "NOTFOUND");
    CHECK_ERROR(server->get(url, cat.token), 404, "NOTFOUND");
    Response after = server->get(path("/recordings"), cat.token);
    CHECK_EQUAL(1, after.count("recordings"));
    CHECK_EQUAL(std::string("rec_older"), after.str("recordings.0.id"));
}

TEST(Live, ARecordingStillRunningIsNeitherDownloadedNorDeleted)
{
    const std::string id = add_recording("rec_running", "recording", "partial");
    CHECK_ERROR(server->get(path("/recordings/" + id + "/file"), ann.token), 409, "CONFLICT");
    CHECK_ERROR(server->del(path("/recordings/" + id), ann.token), 409, "CONFLICT");
    Response list = server->get(path("/recordings"), ann.token);
    CHECK_EQUAL(std::string("recording"), list.str("recordings.0.state"));
    CHECK_TRUE(g_file_test(zumzi::recording_path(server->config(), room.id, id).c_str(),
                           G_FILE_TEST_EXISTS));
}

// ---- joining without media -------------------------------------------------------------------

TEST(Live, JoiningWithoutMediaGivesRosterAndChatButNoMediaSession)
{
    WsClient a(*server, ann.token);
    Response a_joined = a.request(join_msg(room.id, "", "ja"), "ja");
    CHECK_TRUE(a_joined.boolean_is("media", true));
    CHECK_EQUAL(1u, server->media_rooms());

    WsClient c(*server, cat.token);
    Response joined = c.request(join_msg(room.id, "", "jc", false), "jc");
    CHECK_EQUAL(std::string("joined"), joined.str("type"));
    CHECK_TRUE(joined.boolean_is("media", false));
    CHECK_EQUAL(1, joined.count("participants"));
    CHECK_EQUAL(std::string("grid"), joined.str("live.layout"));
    const std::string pid = joined.str("participant_id");
    // In the roster for the others...
    Response seen = a.next("participant_joined");
    CHECK_EQUAL(pid, seen.str("participant.participant_id"));
    // ...chatting in the room...
    Response sent = c.request("{\"type\":\"send\",\"id\":\"m\",\"room\":" + json_string(room.id) +
                                  ",\"client_id\":\"w1\",\"text\":\"hello from the stream\"}",
                              "m");
    CHECK_EQUAL(std::string("sent"), sent.str("type"));
    CHECK_EQUAL(std::string("hello from the stream"), a.next("message").str("message.text"));
    // ...but no media session: no offer ever comes, media requests say so.
    Response publish = c.request(
        "{\"type\":\"publish\",\"id\":\"p\",\"room\":" + json_string(room.id) + ",\"sdp\":\"v=0\"}",
        "p");
    CHECK_EQUAL(std::string("NOMEDIA"), publish.str("error.code"));
    c.sync();
    CHECK_FALSE(c.has_queued("subscribe_offer"));
    CHECK_FALSE(c.has_queued("ice"));

    // Alone without media, the room has no pipeline: nothing to stream.
    a.close();
    CHECK_EQUAL(ann.id, c.next("participant_left").str("user_id"));
    grant(cat, "\"subscribe\",\"list\",\"record\"");
    CHECK_ERROR(server->post(path("/live"), "{\"kind\":\"record\"}", cat.token), 409, "ROOMIDLE");
    CHECK_EQUAL(0u, server->media_rooms());

    // Leaving works as for anyone.
    Response left =
        c.request("{\"type\":\"leave\",\"id\":\"l\",\"room\":" + json_string(room.id) + "}", "l");
    CHECK_EQUAL(std::string("left"), left.str("type"));
}

TEST(Live, MaskedRtmpTargetsKeepNoSecret)
{
    CHECK_EQUAL(std::string("rtmp://a.rtmp.youtube.com/live2/****"),
                zumzi::mask_rtmp_url("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl"));
    CHECK_EQUAL(std::string("rtmps://host:443/app/****?****"),
                zumzi::mask_rtmp_url("rtmps://user:secret@host:443/app/key?token=s3cret"));
    CHECK_EQUAL(std::string("rtmp://host/app"), zumzi::mask_rtmp_url("rtmp://host/app"));

    zumzi::RtmpBackoff backoff;
    std::vector<int64_t> delays;
    for (int i = 0; i < 7; i++)
        delays.push_back(backoff.after_failure(0));
    const std::vector<int64_t> expected = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
    CHECK_TRUE(delays == expected);
    // Live for a while: it starts over.
    CHECK_EQUAL(30000, backoff.after_failure(29999));
    CHECK_EQUAL(1000, backoff.after_failure(30000));
    CHECK_EQUAL(2000, backoff.after_failure(0));
}

TEST(Live, DeletingTheRoomRemovesItsRecordingsAndStream)
{
    const std::string id = add_recording("rec_gone", "done", "bytes");
    const std::string playlist = zumzi::live_dir(server->config(), room.id) + "/index.m3u8";
    write_file(playlist, kPlaylist);
    CHECK_STATUS(server->del(path(), ann.token), 200);
    CHECK_FALSE(g_file_test(zumzi::recording_path(server->config(), room.id, id).c_str(),
                            G_FILE_TEST_EXISTS));
    CHECK_FALSE(g_file_test(playlist.c_str(), G_FILE_TEST_EXISTS));
}
