// zumzi-bot: headless WebRTC participants for a Zumzi room. N bots join one
// room over the WebSocket protocol, publish test video/audio, decode what
// the others publish and print a per-track report. With --whip / --whep
// they publish to / play from any WHIP or WHEP URL instead. See docs/bot.md.
#include <glib-unix.h>
#include <gst/gst.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "bot.h"
#include "report.h"
#include "rest.h"

using namespace zumzi::bot;

namespace {

struct Flags {
    gchar* server = nullptr;
    gchar* token = nullptr;
    gchar* email = nullptr;
    gchar* name = nullptr;
    gchar* room = nullptr;
    gchar* pin = nullptr;
    gchar* create_room = nullptr;
    gchar* size = nullptr;
    gchar* ice = nullptr;
    gchar* whip = nullptr;
    gchar* whep = nullptr;
    int bots = 1;
    int fps = 30;
    int kbps = 500;
    int keyframe = 0;
    int latency = 100;
    double duration = 10;
    double stagger = 0;
    gboolean no_video = FALSE;
    gboolean no_audio = FALSE;
    gboolean silent = FALSE;
    gboolean no_subscribe = FALSE;
    gboolean screen = FALSE;
    gboolean json = FALSE;
    gboolean verbose = FALSE;
    ~Flags()
    {
        for (gchar* s : {server, token, email, name, room, pin, create_room, size, ice, whip, whep})
            g_free(s);
    }
};

int fail(const std::string& message)
{
    g_printerr("zumzi-bot: %s\n", message.c_str());
    return 1;
}

gboolean on_signal(gpointer data)
{
    *static_cast<bool*>(data) = true;
    return G_SOURCE_CONTINUE;
}

}  // namespace

int main(int argc, char** argv)
{
    Flags f;
    GOptionEntry entries[] = {
        {"server", 's', 0, G_OPTION_ARG_STRING, &f.server,
         "Server base URL (default http://127.0.0.1:8080)", "URL"},
        {"token", 't', 0, G_OPTION_ARG_STRING, &f.token,
         "User access token (with --whip/--whep: the bearer token or PIN)", "TOKEN"},
        {"whip", 0, 0, G_OPTION_ARG_STRING, &f.whip,
         "Publish test video/audio to this WHIP endpoint instead of joining a room", "URL"},
        {"whep", 0, 0, G_OPTION_ARG_STRING, &f.whep,
         "Play this WHEP endpoint instead of joining a room", "URL"},
        {"email", 'e', 0, G_OPTION_ARG_STRING, &f.email,
         "Log in as this address with the demo code 123456 (server with --demo only)", "ADDR"},
        {"name", 0, 0, G_OPTION_ARG_STRING, &f.name, "Display name for --email sign-up", "NAME"},
        {"room", 'r', 0, G_OPTION_ARG_STRING, &f.room, "Room id", "ID"},
        {"pin", 'p', 0, G_OPTION_ARG_STRING, &f.pin, "Room PIN (participant or viewer)", "PIN"},
        {"create-room", 0, 0, G_OPTION_ARG_STRING, &f.create_room,
         "Create a room with this name (as the token's user) and join it", "NAME"},
        {"bots", 'n', 0, G_OPTION_ARG_INT, &f.bots, "Number of bots (default 1)", "N"},
        {"size", 0, 0, G_OPTION_ARG_STRING, &f.size, "Video size (default 640x360)", "WxH"},
        {"fps", 0, 0, G_OPTION_ARG_INT, &f.fps, "Video frame rate (default 30)", "FPS"},
        {"kbps", 0, 0, G_OPTION_ARG_INT, &f.kbps, "VP8 target bitrate (default 500)", "KBPS"},
        {"keyframe-interval", 0, 0, G_OPTION_ARG_INT, &f.keyframe,
         "Seconds between encoder keyframes (default 0: on request only)", "S"},
        {"no-video", 0, 0, G_OPTION_ARG_NONE, &f.no_video, "Publish no video", nullptr},
        {"no-audio", 0, 0, G_OPTION_ARG_NONE, &f.no_audio, "Publish no audio", nullptr},
        {"silent", 0, 0, G_OPTION_ARG_NONE, &f.silent,
         "The microphone sends silence, not a tone (the bots never speak)", nullptr},
        {"no-subscribe", 0, 0, G_OPTION_ARG_NONE, &f.no_subscribe,
         "Do not decode received tracks (packets are still counted)", nullptr},
        {"screen", 0, 0, G_OPTION_ARG_NONE, &f.screen,
         "The first bot shares a screen from 1/3 to 2/3 of the duration", nullptr},
        {"duration", 'd', 0, G_OPTION_ARG_DOUBLE, &f.duration,
         "Seconds to stay in the room (default 10)", "S"},
        {"stagger", 0, 0, G_OPTION_ARG_DOUBLE, &f.stagger, "Seconds between bot joins (default 0)",
         "S"},
        {"ice-address", 0, 0, G_OPTION_ARG_STRING, &f.ice,
         "Comma-separated local ICE addresses (default 127.0.0.1; 'any': all)", "ADDRS"},
        {"latency", 0, 0, G_OPTION_ARG_INT, &f.latency,
         "Receiving jitterbuffer latency in ms (default 100)", "MS"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &f.json, "Print the report as JSON", nullptr},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &f.verbose, "Log signaling and events", nullptr},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    g_autoptr(GOptionContext) options =
        g_option_context_new("- headless WebRTC bots for a Zumzi room");
    g_option_context_add_main_entries(options, entries, nullptr);
    g_option_context_add_group(options, gst_init_get_option_group());
    g_autoptr(GError) error = nullptr;
    if (!g_option_context_parse(options, &argc, &argv, &error))
        return fail(error->message);
    if (argc > 1)
        return fail(std::string("unexpected argument '") + argv[1] + "'");

    BotOptions base;
    if (f.server)
        base.server_url = f.server;
    if (f.bots < 1 || f.bots > 500)
        return fail("--bots must be 1 to 500");
    if (f.fps < 1 || f.fps > 120)
        return fail("--fps must be 1 to 120");
    if (f.kbps < 10 || f.kbps > 50000)
        return fail("--kbps must be 10 to 50000");
    if (f.duration <= 0)
        return fail("--duration must be positive");
    if (f.size) {
        int w = 0, h = 0;
        char end = 0;
        if (sscanf(f.size, "%dx%d%c", &w, &h, &end) != 2 || w < 16 || h < 16 || w > 7680 ||
            h > 4320 || w % 2 || h % 2)
            return fail("--size must be WIDTHxHEIGHT with even numbers, e.g. 640x360");
        base.width = w;
        base.height = h;
    }
    base.fps = f.fps;
    base.video_kbps = f.kbps;
    base.keyframe_interval_s = f.keyframe;
    base.publish_video = !f.no_video;
    base.publish_audio = !f.no_audio;
    base.talking = !f.silent;
    base.subscribe = !f.no_subscribe;
    base.latency_ms = static_cast<unsigned>(f.latency < 0 ? 0 : f.latency);
    base.verbose = f.verbose;
    if (f.ice) {
        base.ice_addresses.clear();
        if (g_strcmp0(f.ice, "any") != 0) {
            gchar** parts = g_strsplit(f.ice, ",", -1);
            for (gchar** p = parts; *p; p++)
                if (**p)
                    base.ice_addresses.push_back(g_strstrip(*p));
            g_strfreev(parts);
        }
    }

    if (f.whip || f.whep) {
        if (f.whip && f.whep)
            return fail("give --whip or --whep, not both");
        if (f.email || f.room || f.create_room || f.screen)
            return fail(
                "--whip/--whep take a URL and --token (or --pin) only: no --email, "
                "--room, --create-room or --screen");
        if (f.token && f.pin)
            return fail("give the bearer as --token or --pin, not both");
        base.mode = f.whip ? BotMode::Whip : BotMode::Whep;
        base.url = f.whip ? f.whip : f.whep;
        if (!g_str_has_prefix(base.url.c_str(), "http://") &&
            !g_str_has_prefix(base.url.c_str(), "https://"))
            return fail("the WHIP/WHEP URL must start with http:// or https://");
        base.token = f.token ? f.token : f.pin ? f.pin : "";
        if (base.mode == BotMode::Whip && f.no_video && f.no_audio)
            return fail("a WHIP bot with --no-video and --no-audio has nothing to publish");
    } else if (f.token)
        base.token = f.token;
    if (base.mode != BotMode::Room) {
        // Nothing else to set up: the URL is the room.
    } else if (f.email) {
        if (f.token)
            return fail("give --token or --email, not both");
        std::string err;
        base.token = login_demo(base.server_url, f.email, f.name ? f.name : "", &err);
        if (base.token.empty())
            return fail(err);
    }
    if (base.mode == BotMode::Room && base.token.empty())
        return fail("an access token is needed: --token T or --email ADDR");
    if (f.pin && base.mode == BotMode::Room)
        base.pin = f.pin;
    if (base.mode != BotMode::Room) {
        // No room id: the URL names it.
    } else if (f.create_room) {
        if (f.room)
            return fail("give --room or --create-room, not both");
        RoomInfo room;
        std::string err;
        if (!create_room(base.server_url, base.token, f.create_room, "", &room, &err))
            return fail(err);
        base.room = room.id;
        g_printerr("zumzi-bot: created room %s (participant PIN %s, viewer PIN %s)\n",
                   room.id.c_str(), room.participant_pin.c_str(), room.viewer_pin.c_str());
    } else if (f.room) {
        base.room = f.room;
    } else {
        return fail("which room? --room ID (or --create-room NAME)");
    }

    GMainContext* ctx = g_main_context_default();
    bool interrupted = false;
    guint sigint = g_unix_signal_add(SIGINT, on_signal, &interrupted);
    guint sigterm = g_unix_signal_add(SIGTERM, on_signal, &interrupted);

    std::vector<std::unique_ptr<Bot>> bots;
    for (int i = 0; i < f.bots; i++) {
        BotOptions o = base;
        o.name = "bot" + std::to_string(i + 1);
        bots.push_back(std::make_unique<Bot>(o));
    }
    gint64 start = g_get_monotonic_time();
    for (size_t i = 0; i < bots.size() && !interrupted; i++) {
        bots[i]->start();
        if (f.stagger > 0 && i + 1 < bots.size())
            wait_until(
                ctx, [&] { return interrupted; }, int(f.stagger * 1000));
    }
    auto elapsed = [&] { return (g_get_monotonic_time() - start) / 1e6; };
    if (f.screen) {
        wait_until(
            ctx, [&] { return interrupted || elapsed() >= f.duration / 3; },
            int(f.duration * 1000));
        if (!bots[0]->add_screen())
            g_printerr("zumzi-bot: bot1 could not share a screen\n");
        wait_until(
            ctx, [&] { return interrupted || elapsed() >= 2 * f.duration / 3; },
            int(f.duration * 1000));
        bots[0]->remove_screen();
    }
    wait_until(
        ctx, [&] { return interrupted || elapsed() >= f.duration; }, int(f.duration * 1000) + 1000);
    double seconds = elapsed();

    std::vector<const Bot*> view;
    for (auto& b : bots) {
        b->refresh_stats();
        view.push_back(b.get());
    }
    std::string report = f.json ? report_json(view, seconds) : report_table(view, seconds);
    fputs(report.c_str(), stdout);
    fflush(stdout);

    bool ok = true;
    for (auto& b : bots) {
        if (!b->joined() || !b->errors().empty())
            ok = false;
        b->leave();
    }
    wait_until(
        ctx,
        [&] {
            for (auto& b : bots)
                if (b->state() == BotState::Leaving)
                    return false;
            return true;
        },
        2000);
    bots.clear();
    g_source_remove(sigint);
    g_source_remove(sigterm);
    return ok ? 0 : 2;
}
