#include "live_output.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <algorithm>

#include "api/validate.h"
#include "crypto.h"
#include "membership.h"
#include "permissions.h"
#include "ws_session.h"

namespace zumzi {

// ---- paths and targets --------------------------------------------------------

std::string live_dir(const Config& config, const std::string& room_id)
{
    return config.data_dir + "/live/" + room_id;
}

std::string recording_path(const Config& config, const std::string& room_id,
                           const std::string& recording_id)
{
    return config.data_dir + "/recordings/" + room_id + "/" + recording_id + ".mp4";
}

std::string mask_rtmp_url(const std::string& url)
{
    g_autoptr(GUri) uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
    if (!uri)
        return "****";
    std::string out = std::string(g_uri_get_scheme(uri)) + "://" +
                      (g_uri_get_host(uri) ? g_uri_get_host(uri) : "");
    if (g_uri_get_port(uri) > 0)
        out += ":" + std::to_string(g_uri_get_port(uri));
    const std::string path = g_uri_get_path(uri);
    // "/app/key": the app stays, the key goes.
    const size_t last = path.rfind('/');
    if (last != std::string::npos && last > 0 && last + 1 < path.size())
        out += path.substr(0, last + 1) + "****";
    else
        out += path;
    if (g_uri_get_query(uri))
        out += "?****";
    return out;
}

int64_t RtmpBackoff::after_failure(int64_t live_ms)
{
    if (live_ms >= kResetAfterLiveMs)
        next_ms_ = kFirstMs;
    const int64_t delay = next_ms_;
    next_ms_ = std::min(next_ms_ * 2, kMaxMs);
    return delay;
}

namespace {

void require_permission(const Member& member, Permission p, const char* what)
{
    if (!has_permission(member.permissions, p))
        fail(403, "PERMISSION", "you may not %s", what);
}

media::OutputKind parse_kind(const std::string& kind)
{
    auto parsed = media::output_kind_from_string(kind);
    if (!parsed)
        fail(400, "BADREQUEST", "'kind' must be \"hls\", \"rtmp\" or \"record\"");
    return *parsed;
}

// Moderators and record holders see errors and RTMP targets.
bool sees_details(uint32_t permissions)
{
    return has_permission(permissions, kModerate) || has_permission(permissions, kRecord);
}

int64_t file_size(const std::string& path)
{
    GStatBuf st;
    return g_stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// An error as a participant sees it: the RTMP target's key never shows.
std::string scrub(std::string error, const std::string& target)
{
    if (target.empty())
        return error;
    const std::string masked = mask_rtmp_url(target);
    for (size_t at = error.find(target); at != std::string::npos;
         at = error.find(target, at + masked.size()))
        error.replace(at, target.size(), masked);
    return error;
}

}  // namespace

// ---- the service ---------------------------------------------------------------

LiveOutputs::LiveOutputs(Context& ctx, LiveRooms& live, media::RoomRegistry& media,
                         FindSession find_session)
    : ctx_(ctx),
      live_(live),
      media_(media),
      find_session_(std::move(find_session)),
      self_(std::make_shared<LiveOutputs*>(this))
{
    // A server that stopped mid-recording left them unfinished: what is on
    // disk is all there is.
    try {
        for (const Recording& r : ctx_.store.unfinished_recordings()) {
            const std::string path = recording_path(ctx_.config, r.room_id, r.id);
            ctx_.store.finish_recording(r.id, 0, file_size(path));
            g_message("live: recording %s of room %s was left unfinished", r.id.c_str(),
                      r.room_id.c_str());
        }
    } catch (const StoreError& e) {
        // The server still serves everything else (a schema of its own,
        // as some tests use, may have no recordings at all).
        g_warning("live: cannot check for unfinished recordings: %s", e.what());
    }
}

LiveOutputs::~LiveOutputs()
{
    for (auto& [room_id, room] : rooms_)
        for (auto& [kind, output] : room.outputs)
            if (output.retry)
                output.retry->cancel();
}

Member LiveOutputs::member_of(const Principal& me, const std::string& room_id, Room& room)
{
    room = load_room(ctx_, me, room_id);
    return require_membership(ctx_, room, me);
}

void LiveOutputs::require_kind_permission(const Member& member, media::OutputKind kind) const
{
    if (kind == media::OutputKind::Record) {
        if (!has_permission(member.permissions, kRecord) &&
            !has_permission(member.permissions, kModerate))
            fail(403, "PERMISSION", "you may not record this room");
        return;
    }
    require_permission(member, kModerate, "start or stop this room's live stream");
}

JsonOut LiveOutputs::status(const Principal& me, const std::string& room_id)
{
    Room room;
    const Member member = member_of(me, room_id, room);
    return live_json(room.id, member.permissions);
}

JsonOut LiveOutputs::live_json(const std::string& room_id, uint32_t permissions) const
{
    JsonOut out;
    std::vector<JsonOut> outputs;
    auto it = rooms_.find(room_id);
    media::Layout layout = it == rooms_.end() ? media::Layout::Grid : it->second.layout;
    if (it != rooms_.end())
        for (const auto& [kind, output] : it->second.outputs)
            outputs.push_back(output_json(room_id, output, sees_details(permissions)));
    out.set("layout", media::to_string(layout)).set("outputs", std::move(outputs));
    return out;
}

JsonOut LiveOutputs::output_json(const std::string& room_id, const Output& output, bool full)
{
    JsonOut out;
    // "stopping" is still running as far as a client is concerned.
    const std::string state = output.state == "stopping" ? "live" : output.state;
    out.set("kind", media::to_string(output.kind)).set("state", state);
    if (output.started_at)
        out.set("started_at", output.started_at);
    switch (output.kind) {
        case media::OutputKind::Hls:
            out.set("url", "/live/" + room_id + "/index.m3u8");
            break;
        case media::OutputKind::Rtmp:
            if (full)
                out.set("target", mask_rtmp_url(output.target));
            break;
        case media::OutputKind::Record:
            out.set("recording_id", output.recording_id);
            break;
    }
    if (full && !output.error.empty())
        out.set("error", scrub(output.error, output.target));
    if (output.state == "retrying")
        out.set("retry_in_ms", output.retry_in_ms);
    return out;
}

void LiveOutputs::publish(const std::string& room_id, const Output* output)
{
    auto it = rooms_.find(room_id);
    const media::Layout layout = it == rooms_.end() ? media::Layout::Grid : it->second.layout;
    for (const LiveParticipant& p : live_.participants(room_id)) {
        WsSession* session = p.session_id ? find_session_(p.session_id) : nullptr;
        if (!session)
            continue;  // WHIP/WHEP sessions have no signaling channel
        JsonOut event;
        event.set("type", "live_status").set("room", room_id).set("layout",
                                                                   media::to_string(layout));
        if (output)
            event.set("output", output_json(room_id, *output, sees_details(p.permissions)));
        session->send(to_json_text(std::move(event)));
    }
}

// ---- start ------------------------------------------------------------------

JsonOut LiveOutputs::start(const Principal& me, const std::string& room_id,
                           const JsonFields& fields)
{
    Room room;
    const Member member = member_of(me, room_id, room);
    const media::OutputKind kind = parse_kind(fields.required_string("kind"));
    require_kind_permission(member, kind);
    Output output;
    output.kind = kind;
    if (kind == media::OutputKind::Rtmp)
        output.target = check_rtmp_url(fields.string_field("url").value_or(""), "url");
    if (!media_.find(room.id))
        fail(409, "ROOMIDLE", "nobody is in the room: there is nothing to stream");
    RoomOutputs& outputs = rooms_[room.id];
    if (outputs.outputs.count(kind))
        fail(409, "CONFLICT", "the %s output runs already", media::to_string(kind));

    output.state = "starting";
    output.started_at = ctx_.clock();
    output.started_by = me.user.id;
    if (kind == media::OutputKind::Record)
        output.recording_id = random_id("rec_", 16);
    if (!start_in_engine(room.id, output)) {
        if (outputs.outputs.empty())
            rooms_.erase(room.id);
        fail(500, "INTERNAL", "the %s output could not be started", media::to_string(kind));
    }
    if (kind == media::OutputKind::Record)
        ctx_.store.create_recording(Recording{output.recording_id, room.id, me.user.id,
                                              output.started_at, 0, 0, "recording"});
    Output& stored = outputs.outputs.emplace(kind, std::move(output)).first->second;
    publish(room.id, &stored);
    return output_json(room.id, stored, true);
}

bool LiveOutputs::prepare_composite(const std::string& room_id)
{
    auto media_room = media_.find(room_id);
    auto room = ctx_.store.find_room_by_id(room_id);
    if (!media_room || !room)
        return false;
    // The composite as the room wants it, before its first output or
    // viewer builds it.
    media_room->set_composite_preset(room->preset);
    auto outputs = rooms_.find(room_id);
    media_room->set_layout(outputs != rooms_.end() ? outputs->second.layout
                                                   : media::Layout::Grid);
    for (const LiveParticipant& p : live_.participants(room_id))
        media_room->set_display_name(p.id, p.name);
    return true;
}

bool LiveOutputs::start_in_engine(const std::string& room_id, Output& output)
{
    auto media_room = media_.find(room_id);
    if (!media_room || !prepare_composite(room_id))
        return false;

    media::OutputOptions options;
    switch (output.kind) {
        case media::OutputKind::Hls: {
            // A fresh directory: no segment of an earlier stream is served.
            remove_hls_files(room_id);
            options.location = live_dir(ctx_.config, room_id);
            break;
        }
        case media::OutputKind::Rtmp:
            options.location = output.target;
            break;
        case media::OutputKind::Record:
            options.location = recording_path(ctx_.config, room_id, output.recording_id);
            break;
    }
    if (output.kind != media::OutputKind::Rtmp) {
        g_autofree char* dir = output.kind == media::OutputKind::Hls
                                   ? g_strdup(options.location.c_str())
                                   : g_path_get_dirname(options.location.c_str());
        if (g_mkdir_with_parents(dir, 0700) != 0) {
            g_warning("live: cannot create %s: %s", dir, g_strerror(errno));
            return false;
        }
    }
    output.live_since_us = 0;
    return media_room->start_output(output.kind, options);
}

// ---- engine events --------------------------------------------------------------

void LiveOutputs::on_output(const std::string& room_id, const media::OutputEvent& event)
{
    auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return;
    auto it = room->second.outputs.find(event.kind);
    if (it == room->second.outputs.end())
        return;
    Output& output = it->second;
    switch (event.state) {
        case media::OutputState::Starting:
            if (output.state == "stopping")
                return;
            output.state = "starting";
            break;
        case media::OutputState::Live:
            if (output.state == "stopping")
                return;
            output.state = "live";
            output.error.clear();
            output.live_since_us = g_get_monotonic_time();
            break;
        case media::OutputState::Failed: {
            if (output.kind != media::OutputKind::Rtmp || output.state == "stopping") {
                // HLS and recordings do not come back by themselves.
                finish(room_id, event.kind, "failed", event.error);
                return;
            }
            const int64_t live_ms =
                output.live_since_us ? (g_get_monotonic_time() - output.live_since_us) / 1000 : 0;
            output.state = "retrying";
            output.error = event.error.empty() ? "the RTMP push failed" : event.error;
            output.retry_in_ms = output.backoff.after_failure(live_ms);
            output.live_since_us = 0;
            if (!output.retry)
                output.retry = std::make_shared<media::Timer>();
            std::weak_ptr<LiveOutputs*> weak = self_;
            output.retry->start(g_main_context_get_thread_default(),
                                static_cast<unsigned>(output.retry_in_ms), [weak, room_id] {
                                    if (auto self = weak.lock())
                                        (*self)->retry_rtmp(room_id);
                                });
            g_message("live: RTMP of room %s failed (%s); retrying in %" G_GINT64_FORMAT " ms",
                      room_id.c_str(), scrub(output.error, output.target).c_str(),
                      output.retry_in_ms);
            break;
        }
        case media::OutputState::Stopped:
            finish(room_id, event.kind, "stopped", "");
            return;
    }
    publish(room_id, &output);
}

void LiveOutputs::retry_rtmp(const std::string& room_id)
{
    auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return;
    auto it = room->second.outputs.find(media::OutputKind::Rtmp);
    if (it == room->second.outputs.end() || it->second.state != "retrying")
        return;
    Output& output = it->second;
    output.state = "starting";
    output.retry_in_ms = 0;
    if (!start_in_engine(room_id, output)) {
        // As if it failed at once: the next attempt waits longer.
        media::OutputEvent failed{media::OutputKind::Rtmp, media::OutputState::Failed,
                                  output.target, "the RTMP output could not be started"};
        on_output(room_id, failed);
        return;
    }
    publish(room_id, &output);
}

void LiveOutputs::finish(const std::string& room_id, media::OutputKind kind,
                         const std::string& state, const std::string& error)
{
    auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return;
    auto it = room->second.outputs.find(kind);
    if (it == room->second.outputs.end())
        return;
    Output output = std::move(it->second);
    room->second.outputs.erase(it);
    if (output.retry)
        output.retry->cancel();
    if (kind == media::OutputKind::Record) {
        const std::string path = recording_path(ctx_.config, room_id, output.recording_id);
        // From its first frame (Live) to now.
        const int64_t duration_ms =
            output.live_since_us ? (g_get_monotonic_time() - output.live_since_us) / 1000 : 0;
        ctx_.store.finish_recording(output.recording_id, duration_ms, file_size(path));
    }
    if (kind == media::OutputKind::Hls)
        remove_hls_files(room_id);
    output.state = state;
    output.error = error;
    output.retry_in_ms = 0;
    if (!error.empty())
        g_message("live: the %s output of room %s ended: %s", media::to_string(kind),
                  room_id.c_str(), scrub(error, output.target).c_str());
    publish(room_id, &output);
    // Stop requests are answered from the main loop, never inside stop().
    if (!output.waiting.empty()) {
        auto ended = std::make_shared<Output>(std::move(output));
        media::post_to_main(g_main_context_get_thread_default(), [room_id, ended] {
            for (Stopped& done : ended->waiting)
                done(output_json(room_id, *ended, true));
        });
    }
    // An idle room without outputs needs no entry (its layout stays while
    // the room lives).
    if (room->second.outputs.empty() && !media_.find(room_id))
        rooms_.erase(room);
}

void LiveOutputs::on_room_closed(const std::string& room_id)
{
    auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return;
    // The engine finalises what runs (Stopped events follow); an RTMP push
    // waiting to retry has nothing in the engine and ends now.
    std::vector<media::OutputKind> idle;
    for (auto& [kind, output] : room->second.outputs)
        if (output.state == "retrying")
            idle.push_back(kind);
    for (media::OutputKind kind : idle)
        finish(room_id, kind, "stopped", "");
    room = rooms_.find(room_id);
    if (room != rooms_.end() && room->second.outputs.empty())
        rooms_.erase(room);
}

// ---- stop and layout ----------------------------------------------------------------

void LiveOutputs::stop(const Principal& me, const std::string& room_id, const std::string& kind,
                       Stopped done)
{
    Room room;
    const Member member = member_of(me, room_id, room);
    const media::OutputKind which = parse_kind(kind);
    require_kind_permission(member, which);
    auto entry = rooms_.find(room.id);
    if (entry == rooms_.end() || !entry->second.outputs.count(which))
        fail(404, "NOTFOUND", "the %s output is not running", media::to_string(which));
    Output& output = entry->second.outputs.at(which);
    output.waiting.push_back(std::move(done));
    if (output.state == "stopping")
        return;  // answered with the stop already under way
    auto media_room = media_.find(room.id);
    const bool running = media_room && media_room->output_running(which);
    output.state = "stopping";
    if (output.retry)
        output.retry->cancel();
    std::weak_ptr<LiveOutputs*> weak = self_;
    const std::string id = room.id;
    if (running && media_room->stop_output(which, [weak, id, which] {
            if (auto self = weak.lock())
                (*self)->finish(id, which, "stopped", "");
        }))
        return;
    // Nothing in the engine (an RTMP push waiting to retry): over now, but
    // answered from the main loop, after this call.
    media::post_to_main(g_main_context_get_thread_default(), [weak, id, which] {
        if (auto self = weak.lock())
            (*self)->finish(id, which, "stopped", "");
    });
}

JsonOut LiveOutputs::set_layout(const Principal& me, const std::string& room_id,
                                const JsonFields& fields)
{
    Room room;
    const Member member = member_of(me, room_id, room);
    require_permission(member, kModerate, "change the live layout of this room");
    auto layout = media::layout_from_string(fields.required_string("layout"));
    if (!layout)
        fail(400, "BADREQUEST", "'layout' must be \"grid\", \"speaker\" or \"pip\"");
    auto media_room = media_.find(room.id);
    if (!media_room)
        fail(409, "ROOMIDLE", "nobody is in the room: there is no composite");
    RoomOutputs& outputs = rooms_[room.id];
    const bool changed = outputs.layout != *layout;
    outputs.layout = *layout;
    media_room->set_layout(*layout);
    // The other moderators' live controls follow (the layout without an output).
    if (changed)
        publish(room.id, nullptr);
    return live_json(room.id, member.permissions);
}

void LiveOutputs::participant_joined(const std::string& room_id, const std::string& participant_id,
                                     const std::string& name)
{
    if (auto media_room = media_.find(room_id))
        media_room->set_display_name(participant_id, name);
}

void LiveOutputs::room_deleted(const std::string& room_id)
{
    remove_hls_files(room_id);
    g_rmdir(live_dir(ctx_.config, room_id).c_str());
    const std::string dir = ctx_.config.data_dir + "/recordings/" + room_id;
    g_autoptr(GDir) listing = g_dir_open(dir.c_str(), 0, nullptr);
    if (listing)
        while (const char* name = g_dir_read_name(listing)) {
            const std::string path = dir + "/" + name;
            if (g_unlink(path.c_str()) != 0)
                g_warning("live: cannot remove %s: %s", path.c_str(), g_strerror(errno));
        }
    g_rmdir(dir.c_str());
}

void LiveOutputs::preset_changed(const std::string& room_id, const std::string& preset)
{
    if (auto media_room = media_.find(room_id))
        media_room->set_composite_preset(preset);
}

void LiveOutputs::remove_hls_files(const std::string& room_id) const
{
    const std::string dir = live_dir(ctx_.config, room_id);
    g_autoptr(GDir) listing = g_dir_open(dir.c_str(), 0, nullptr);
    if (!listing)
        return;
    while (const char* name = g_dir_read_name(listing)) {
        const std::string path = dir + "/" + name;
        if (g_unlink(path.c_str()) != 0)
            g_warning("live: cannot remove %s: %s", path.c_str(), g_strerror(errno));
    }
}

// ---- recordings ----------------------------------------------------------------------

std::vector<Recording> LiveOutputs::recordings(const Principal& me, const std::string& room_id)
{
    Room room;
    require_permission(member_of(me, room_id, room), kRecord, "see this room's recordings");
    return ctx_.store.list_recordings(room.id);
}

std::pair<Recording, std::string> LiveOutputs::recording_file(const Principal& me,
                                                              const std::string& room_id,
                                                              const std::string& recording_id)
{
    Room room;
    require_permission(member_of(me, room_id, room), kRecord, "download this room's recordings");
    auto recording = ctx_.store.find_recording(room.id, recording_id);
    if (!recording)
        fail(404, "NOTFOUND", "no such recording");
    if (recording->state != "done")
        fail(409, "CONFLICT", "the recording is still running: stop it first");
    return {*recording, recording_path(ctx_.config, room.id, recording->id)};
}

void LiveOutputs::delete_recording(const Principal& me, const std::string& room_id,
                                   const std::string& recording_id)
{
    Room room;
    require_permission(member_of(me, room_id, room), kModerate, "delete this room's recordings");
    auto recording = ctx_.store.find_recording(room.id, recording_id);
    if (!recording)
        fail(404, "NOTFOUND", "no such recording");
    if (recording->state != "done")
        fail(409, "CONFLICT", "the recording is still running: stop it first");
    ctx_.store.delete_recording(room.id, recording->id);
    const std::string path = recording_path(ctx_.config, room.id, recording->id);
    if (g_unlink(path.c_str()) != 0 && errno != ENOENT)
        g_warning("live: cannot remove %s: %s", path.c_str(), g_strerror(errno));
}

}  // namespace zumzi
