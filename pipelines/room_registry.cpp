#include "room_registry.h"

#include "gstzumzi.h"

GST_DEBUG_CATEGORY_STATIC(zumzi_registry_debug);
#define GST_CAT_DEFAULT zumzi_registry_debug

namespace zumzi::media {

RoomRegistry::RoomRegistry(MediaConfig config, RegistryCallbacks callbacks)
    : ctx_(g_main_context_ref_thread_default()),
      config_(std::move(config)),
      callbacks_(std::move(callbacks))
{
    if (!gst_is_initialized())
        gst_init(nullptr, nullptr);
    GST_DEBUG_CATEGORY_INIT(zumzi_registry_debug, "zumzi-registry", 0, "Zumzi room registry");
    // The composite's elements (zumzimixer, zumzilivesink), linked in.
    if (!gst_zumzi_register_static())
        GST_ERROR("the gstzumzi plugin could not be registered: no live output");
}

RoomRegistry::~RoomRegistry()
{
    rooms_.clear();
    g_main_context_unref(ctx_);
}

std::shared_ptr<Participant> RoomRegistry::join(const std::string& room_id,
                                                const std::string& participant_id,
                                                ParticipantCallbacks callbacks, bool subscribe)
{
    auto it = rooms_.find(room_id);
    if (it == rooms_.end()) {
        RoomCallbacks rc;
        // Copies of the registry's callbacks: a room may outlive a leave().
        auto cbs = callbacks_;
        rc.on_track_published = [cbs, room_id](const TrackInfo& t) {
            if (cbs.on_track_published)
                cbs.on_track_published(room_id, t);
        };
        rc.on_track_unpublished = [cbs, room_id](const TrackInfo& t) {
            if (cbs.on_track_unpublished)
                cbs.on_track_unpublished(room_id, t);
        };
        rc.on_track_muted = [cbs, room_id](const TrackInfo& t) {
            if (cbs.on_track_muted)
                cbs.on_track_muted(room_id, t);
        };
        rc.on_speaking = [cbs, room_id](const std::string& participant_id, bool speaking) {
            if (cbs.on_speaking)
                cbs.on_speaking(room_id, participant_id, speaking);
        };
        rc.on_error = [cbs, room_id](const std::string& m) {
            if (cbs.on_error)
                cbs.on_error(room_id, m);
        };
        rc.on_output = [cbs, room_id](const OutputEvent& e) {
            if (cbs.on_output)
                cbs.on_output(room_id, e);
        };
        MediaConfig config = config_;
        auto n = last_n_.find(room_id);
        if (n != last_n_.end())
            config.last_n = n->second;
        it = rooms_.emplace(room_id, std::make_shared<Room>(room_id, ctx_, config, rc)).first;
        auto preset = presets_.find(room_id);
        if (preset != presets_.end())
            it->second->set_preset(preset->second);
        GST_INFO("room %s opened", room_id.c_str());
    }
    return it->second->join(participant_id, std::move(callbacks), subscribe);
}

bool RoomRegistry::leave(const std::string& room_id, const std::string& participant_id,
                         std::function<void()> done)
{
    auto it = rooms_.find(room_id);
    if (it == rooms_.end())
        return false;
    auto room = it->second;
    if (!room->leave(participant_id, std::move(done)))
        return false;
    if (room->participant_count() == 0) {
        // The Room object itself lives until the teardown in flight is over.
        rooms_.erase(it);
        GST_INFO("room %s closed", room_id.c_str());
        if (callbacks_.on_room_closed)
            callbacks_.on_room_closed(room_id);
        // Running outputs are finalised (a recording gets its index); the
        // room, and so its pipeline, lives until then.
        room->finalise_outputs(nullptr);
    }
    return true;
}

void RoomRegistry::set_last_n(const std::string& room_id, unsigned n)
{
    last_n_[room_id] = n;
    if (auto room = find(room_id))
        room->set_last_n(n);
}

void RoomRegistry::set_preset(const std::string& room_id, const std::string& preset)
{
    presets_[room_id] = preset;
    if (auto room = find(room_id))
        room->set_preset(preset);
}

std::shared_ptr<Room> RoomRegistry::find(const std::string& room_id) const
{
    auto it = rooms_.find(room_id);
    return it == rooms_.end() ? nullptr : it->second;
}

}  // namespace zumzi::media
