// Live output end to end: two zumzi-bot peers publish camera and mic into a
// QVGA room of the real server, the owner (joined with "media": false, the
// way the watch page joins) drives the outputs over REST and hears
// live_status. The HLS stream is fetched over HTTP with the viewer PIN and a
// segment decodes with ffprobe at the preset's size; an RTMP push reaches a
// real nginx (RTMP module) on 127.0.0.1 with the preset's size and audio;
// an RTMP target that refuses connections is retried with growing delays
// while HLS and the call go on; a recording stopped over REST is listed,
// downloaded over HTTP and lasts as long as it ran; a recording running
// when everyone leaves is finalised and marked done. Frame counts and
// ffprobe results are asserted; the one time compared is a recording's
// duration against the time it ran.
#include <glib/gstdio.h>

#include <memory>
#include <vector>

#include "../api/ws_client.h"
#include "../plugin/plugin_test.h"
#include "bot.h"
#include "room_bots.h"
// After the standard headers: it brings CppUTest.
#include "../nginx_rtmp.h"

using namespace zumzi_test;
using zumzi::bot::Bot;
using zumzi::plugin_test::ffprobe;
using zumzi::plugin_test::Probe;
using zumzi::plugin_test::TempDir;

namespace {

std::string track_of(const Bot& observer, const Bot& publisher, const std::string& label)
{
    for (const auto& entry : observer.remote_tracks())
        if (entry.second.participant_id == publisher.participant_id() &&
            entry.second.label == label)
            return entry.first;
    return {};
}

// Lets the bots (and the WebSocket client) run for `ms`.
void run_for(Bot& any, int ms)
{
    wait_for(
        any, [] { return false; }, ms);
}

// The segment URIs a playlist lists, in order.
std::vector<std::string> playlist_uris(const std::string& playlist)
{
    std::vector<std::string> out;
    gchar** lines = g_strsplit(playlist.c_str(), "\n", -1);
    for (gchar** l = lines; *l; l++) {
        g_strstrip(*l);
        if (**l && **l != '#')
            out.push_back(*l);
    }
    g_strfreev(lines);
    return out;
}

void save(const std::string& path, const std::string& bytes)
{
    CHECK_TRUE(g_file_set_contents(path.c_str(), bytes.data(), static_cast<gssize>(bytes.size()),
                                   nullptr));
}

}  // namespace

TEST_GROUP(Live)
{
    std::unique_ptr<TestServer> server;
    TestUser ann, bob, cat;
    RoomInfo room;
    std::unique_ptr<Bot> b, c;
    std::unique_ptr<WsClient> owner;

    void setup() override
    {
        server = std::make_unique<TestServer>();
        ann = server->login("ann@example.com");
        bob = server->login("bob@example.com");
        cat = server->login("cat@example.com");
        room = server->create_room(ann, "{\"name\":\"On air\",\"preset\":\"qvga\"}");
    }
    void teardown() override
    {
        owner.reset();
        b.reset();
        c.reset();
        server.reset();
    }

    std::string path(const std::string& rest = {})
    {
        return "/api/v1/rooms/" + room.id + rest;
    }

    // Bob and Cat publish and see each other's camera; Ann watches the
    // room's events without media.
    void start_call()
    {
        b = start_bot(*server, bob, room.id, room.participant_pin, "bob");
        c = start_bot(*server, cat, room.id, room.participant_pin, "cat");
        CHECK_TEXT(wait_for(*b,
                            [&] {
                                const std::string bc = track_of(*b, *c, "camera");
                                const std::string cb = track_of(*c, *b, "camera");
                                return !bc.empty() && !cb.empty() && b->frames_of(bc) >= 10 &&
                                       c->frames_of(cb) >= 10;
                            }),
                   (describe(*b) + " / " + describe(*c)).c_str());
        owner = std::make_unique<WsClient>(*server, ann.token);
        Response joined = owner->request("{\"type\":\"join\",\"id\":\"j\",\"room\":" +
                                             json_string(room.id) + ",\"media\":false}",
                                         "j");
        CHECK_EQUAL_TEXT(std::string("joined"), joined.str("type"), joined.body.c_str());
    }

    // The next live_status of `kind` in `state` (others skipped); an empty
    // Response when none came.
    Response status(const std::string& kind, const std::string& state)
    {
        for (int i = 0; i < 30; i++) {
            Response r = owner->next("live_status");
            if (!r.json)
                break;
            if (r.str("output.kind") == kind && r.str("output.state") == state)
                return r;
        }
        return {};
    }

    // More frames of each other's camera keep arriving: the call goes on.
    bool call_goes_on()
    {
        const std::string bc = track_of(*b, *c, "camera");
        const std::string cb = track_of(*c, *b, "camera");
        const uint64_t b_before = b->frames_of(bc);
        const uint64_t c_before = c->frames_of(cb);
        return wait_for(*b, [&] {
            return b->frames_of(bc) >= b_before + 15 && c->frames_of(cb) >= c_before + 15;
        });
    }

    // The HLS playlist as a viewer gets it once it lists a segment.
    std::string playlist_with_segments()
    {
        const std::string url = "/live/" + room.id + "/index.m3u8?pin=" + room.viewer_pin;
        for (int i = 0; i < 60; i++) {
            Response r = server->get(url);
            if (r.status == 200 && !playlist_uris(r.body).empty())
                return r.body;
            run_for(*b, 500);
        }
        return {};
    }

    // A segment of the stream over HTTP, checked by ffprobe.
    void check_a_segment_decodes(const std::string& playlist)
    {
        const std::vector<std::string> uris = playlist_uris(playlist);
        CHECK_FALSE(uris.empty());
        const std::string uri = uris.back();
        CHECK_TEXT(uri.find("?pin=" + room.viewer_pin) != std::string::npos, uri.c_str());
        Response seg = server->get("/live/" + room.id + "/" + uri);
        CHECK_STATUS(seg, 200);
        CHECK_EQUAL(std::string("public, max-age=3600, immutable"), seg.header("cache-control"));
        TempDir dir;
        save(dir.file("segment.ts"), seg.body);
        Probe p = ffprobe(dir.file("segment.ts"));
        CHECK_TEXT(p.ok, p.error.c_str());
        CHECK_EQUAL(std::string("h264"), p.video_codec);
        CHECK_EQUAL(320, p.width);
        CHECK_EQUAL(240, p.height);
        CHECK_EQUAL(std::string("aac"), p.audio_codec);
        // Every frame decodes.
        Probe frames = ffprobe(dir.file("segment.ts"), true);
        CHECK_TEXT(frames.ok, frames.error.c_str());
        CHECK(frames.video_frames > 0);
    }
};

TEST(Live, HlsOfTwoPublishersIsServedAndDecodes)
{
    start_call();
    Response started = server->post(path("/live"), "{\"kind\":\"hls\"}", ann.token);
    CHECK_STATUS(started, 201);
    CHECK_EQUAL(std::string("hls"), started.str("output.kind"));
    CHECK_EQUAL(std::string("starting"), started.str("output.state"));
    CHECK_EQUAL("/live/" + room.id + "/index.m3u8", started.str("output.url"));
    CHECK_ERROR(server->post(path("/live"), "{\"kind\":\"hls\"}", ann.token), 409, "CONFLICT");

    Response live = status("hls", "live");
    CHECK_TEXT(live.json != nullptr, "no live_status live for hls");
    CHECK_EQUAL(room.id, live.str("room"));
    CHECK_EQUAL("/live/" + room.id + "/index.m3u8", live.str("output.url"));

    const std::string playlist = playlist_with_segments();
    CHECK_FALSE(playlist.empty());
    check_a_segment_decodes(playlist);
    CHECK_TRUE(call_goes_on());

    // Everyone in the room sees it live; the layout changes live.
    Response seen = server->get(path("/live"), bob.token);
    CHECK_EQUAL(std::string("hls"), seen.str("outputs.0.kind"));
    CHECK_EQUAL(std::string("live"), seen.str("outputs.0.state"));
    Response layout = server->patch(path("/live"), "{\"layout\":\"speaker\"}", ann.token);
    CHECK_STATUS(layout, 200);
    CHECK_EQUAL(std::string("speaker"), layout.str("layout"));
    CHECK_EQUAL(std::string("speaker"), server->get(path("/live"), cat.token).str("layout"));
    check_a_segment_decodes(playlist_with_segments());

    Response stopped = server->del(path("/live/hls"), ann.token);
    CHECK_STATUS(stopped, 200);
    CHECK_EQUAL(std::string("stopped"), stopped.str("output.state"));
    CHECK_TRUE(status("hls", "stopped").json != nullptr);
    CHECK_ERROR(server->get("/live/" + room.id + "/index.m3u8?pin=" + room.viewer_pin), 404,
                "NOTFOUND");
    CHECK_EQUAL(0, server->get(path("/live"), ann.token).count("outputs"));
    CHECK_TRUE(call_goes_on());
}

TEST(Live, RtmpReachesARealServerAtThePresetSize)
{
    TempDir nginx_dir;
    const int port = closed_port();
    NginxRtmp nginx(nginx_dir.path(), port);
    start_call();
    const std::string url = "rtmp://127.0.0.1:" + std::to_string(port) + "/live/onair";
    Response started =
        server->post(path("/live"), "{\"kind\":\"rtmp\",\"url\":" + json_string(url) + "}",
                     ann.token);
    CHECK_STATUS(started, 201);
    CHECK_EQUAL("rtmp://127.0.0.1:" + std::to_string(port) + "/live/****",
                started.str("output.target"));
    Response live = status("rtmp", "live");
    CHECK_TEXT(live.json != nullptr, "no live_status live for rtmp");
    // What nginx received: a few seconds of it.
    const std::string flv = nginx.recording("onair");
    for (int i = 0; i < 60 && ffprobe(flv).duration < 3.0; i++)
        run_for(*b, 500);
    Response stopped = server->del(path("/live/rtmp"), ann.token);
    CHECK_STATUS(stopped, 200);
    CHECK_EQUAL(std::string("stopped"), stopped.str("output.state"));

    Probe p = ffprobe(flv);
    CHECK_TEXT(p.ok, p.error.c_str());
    CHECK_EQUAL(std::string("h264"), p.video_codec);
    CHECK_EQUAL(320, p.width);
    CHECK_EQUAL(240, p.height);
    CHECK_EQUAL(std::string("aac"), p.audio_codec);
    CHECK(p.duration >= 2.0);
    Probe frames = ffprobe(flv, true);
    CHECK_TEXT(frames.ok, frames.error.c_str());
    CHECK(frames.video_frames >= 20);
    CHECK_TRUE(call_goes_on());
}

TEST(Live, ARefusedRtmpTargetIsRetriedWhileHlsAndTheCallGoOn)
{
    start_call();
    // A viewer watching the page: hears the states, never targets or errors.
    TestUser dan = server->login("dan@example.com");
    WsClient viewer(*server, dan.token);
    Response joined = viewer.request("{\"type\":\"join\",\"id\":\"v\",\"room\":" +
                                         json_string(room.id) + ",\"pin\":" +
                                         json_string(room.viewer_pin) + ",\"media\":false}",
                                     "v");
    CHECK_EQUAL_TEXT(std::string("joined"), joined.str("type"), joined.body.c_str());
    CHECK_STATUS(server->post(path("/live"), "{\"kind\":\"hls\"}", ann.token), 201);
    CHECK_TRUE(status("hls", "live").json != nullptr);
    const std::string url = "rtmp://127.0.0.1:" + std::to_string(closed_port()) + "/live/key";
    CHECK_STATUS(server->post(path("/live"), "{\"kind\":\"rtmp\",\"url\":" + json_string(url) + "}",
                              ann.token),
                 201);

    // Retried with growing delays, the error reported each time.
    Response first = status("rtmp", "retrying");
    CHECK_TEXT(first.json != nullptr, "no live_status retrying");
    CHECK_FALSE(first.str("output.error").empty());
    CHECK_EQUAL(1000, first.num("output.retry_in_ms"));
    CHECK_TRUE(first.str("output.error").find("/live/key") == std::string::npos);
    Response second = status("rtmp", "retrying");
    CHECK_TEXT(second.json != nullptr, "no second live_status retrying");
    CHECK_EQUAL(2000, second.num("output.retry_in_ms"));
    Response now = server->get(path("/live"), ann.token);
    const std::string rtmp = now.find("outputs", "kind", "rtmp");
    CHECK_FALSE(now.str(rtmp + ".state").empty());
    CHECK_FALSE(now.str(rtmp + ".target").empty());
    bool viewer_heard = false;
    while (!viewer_heard) {
        Response r = viewer.next("live_status");
        if (!r.json)
            break;
        if (r.str("output.kind") == "rtmp" && r.str("output.state") == "retrying") {
            viewer_heard = true;
            CHECK_FALSE(r.has("output.error"));
            CHECK_FALSE(r.has("output.target"));
            CHECK_EQUAL(1000, r.num("output.retry_in_ms"));
        }
    }
    CHECK_TRUE(viewer_heard);
    Response seen = server->get(path("/live"), dan.token);
    CHECK_EQUAL(std::string("rtmp"), seen.str(seen.find("outputs", "kind", "rtmp") + ".kind"));
    CHECK_FALSE(seen.has(seen.find("outputs", "kind", "rtmp") + ".target"));

    // Meanwhile HLS plays and the call goes on.
    check_a_segment_decodes(playlist_with_segments());
    CHECK_TRUE(call_goes_on());

    Response stopped = server->del(path("/live/rtmp"), ann.token);
    CHECK_STATUS(stopped, 200);
    CHECK_EQUAL(std::string("stopped"), stopped.str("output.state"));
    Response after = server->get(path("/live"), ann.token);
    CHECK_EQUAL(1, after.count("outputs"));
    CHECK_EQUAL(std::string("hls"), after.str("outputs.0.kind"));
    CHECK_EQUAL(std::string("live"), after.str("outputs.0.state"));
    check_a_segment_decodes(playlist_with_segments());
    CHECK_STATUS(server->del(path("/live/hls"), ann.token), 200);
}

TEST(Live, ARecordingIsListedDownloadedAndLastsAsLongAsItRan)
{
    start_call();
    Response started = server->post(path("/live"), "{\"kind\":\"record\"}", ann.token);
    CHECK_STATUS(started, 201);
    const std::string id = started.str("output.recording_id");
    CHECK_TRUE(g_str_has_prefix(id.c_str(), "rec_"));
    CHECK_TRUE(status("record", "live").json != nullptr);
    const gint64 live_at = g_get_monotonic_time();
    Response running = server->get(path("/recordings"), ann.token);
    CHECK_EQUAL(std::string("recording"), running.str("recordings.0.state"));

    run_for(*b, 4000);
    const double ran = static_cast<double>(g_get_monotonic_time() - live_at) / 1e6;
    Response stopped = server->del(path("/live/record"), ann.token);
    CHECK_STATUS(stopped, 200);
    CHECK_EQUAL(std::string("stopped"), stopped.str("output.state"));
    CHECK_EQUAL(id, stopped.str("output.recording_id"));

    Response list = server->get(path("/recordings"), ann.token);
    CHECK_EQUAL(1, list.count("recordings"));
    CHECK_EQUAL(id, list.str("recordings.0.id"));
    CHECK_EQUAL(std::string("done"), list.str("recordings.0.state"));
    CHECK(list.num("recordings.0.size") > 0);
    Response file = server->get(list.str("recordings.0.url") + "?token=" + ann.token);
    CHECK_STATUS(file, 200);
    CHECK_EQUAL(list.num("recordings.0.size"), static_cast<int64_t>(file.body.size()));
    TempDir dir;
    save(dir.file("rec.mp4"), file.body);
    Probe p = ffprobe(dir.file("rec.mp4"));
    CHECK_TEXT(p.ok, p.error.c_str());
    CHECK_EQUAL(std::string("h264"), p.video_codec);
    CHECK_EQUAL(320, p.width);
    CHECK_EQUAL(240, p.height);
    CHECK_EQUAL(std::string("aac"), p.audio_codec);
    Probe frames = ffprobe(dir.file("rec.mp4"), true);
    CHECK_TEXT(frames.ok, frames.error.c_str());
    if (p.duration < ran - 1.0 || p.duration > ran + 1.0)
        FAIL(g_strdup_printf("the recording lasts %.3f s, it ran %.3f s", p.duration, ran));
    const double listed = static_cast<double>(list.num("recordings.0.duration_ms")) / 1000.0;
    if (listed < p.duration - 1.0 || listed > p.duration + 1.0)
        FAIL(g_strdup_printf("listed as %.3f s, the file lasts %.3f s", listed, p.duration));
    CHECK_TRUE(call_goes_on());
}

TEST(Live, ARecordingIsFinalisedWhenEveryoneLeaves)
{
    start_call();
    CHECK_STATUS(server->post(path("/live"), "{\"kind\":\"record\"}", ann.token), 201);
    CHECK_TRUE(status("record", "live").json != nullptr);
    run_for(*b, 2000);
    b->leave();
    c->leave();
    owner->close();
    std::string state;
    for (int i = 0; i < 60 && state != "done"; i++) {
        run_for(*b, 250);
        state = server->get(path("/recordings"), ann.token).str("recordings.0.state");
    }
    CHECK_EQUAL(std::string("done"), state);
    CHECK_EQUAL(0u, server->media_rooms());
    Response list = server->get(path("/recordings"), ann.token);
    Response file = server->get(list.str("recordings.0.url"), ann.token);
    CHECK_STATUS(file, 200);
    TempDir dir;
    save(dir.file("rec.mp4"), file.body);
    Probe p = ffprobe(dir.file("rec.mp4"));
    CHECK_TEXT(p.ok, p.error.c_str());
    CHECK(p.duration >= 1.0);
    CHECK_TEXT(ffprobe(dir.file("rec.mp4"), true).ok, "the recording does not decode to the end");
    // Nothing runs any more; a new call starts with nothing live.
    CHECK_EQUAL(0, server->get(path("/live"), ann.token).count("outputs"));
}
