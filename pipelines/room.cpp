#include "room.h"

#include <algorithm>

GST_DEBUG_CATEGORY_STATIC(zumzi_room_debug);
#define GST_CAT_DEFAULT zumzi_room_debug

namespace zumzi::media {

namespace {

void init_debug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(zumzi_room_debug, "zumzi-room", 0, "Zumzi rooms");
        g_once_init_leave(&once, 1);
    }
}

// Counts outstanding asynchronous steps and runs `done` after the last.
struct Barrier {
    int pending = 1;  // released by the caller once everything is started
    std::function<void()> done;
    static void arrive(const std::shared_ptr<Barrier>& b)
    {
        if (--b->pending == 0 && b->done)
            b->done();
    }
};

void delete_weak_room(gpointer data)
{
    delete static_cast<std::weak_ptr<Room>*>(data);
}

}  // namespace

Room::Room(std::string id, GMainContext* ctx, const MediaConfig& config, RoomCallbacks callbacks)
    : id_(std::move(id)), ctx_(ctx), config_(config), callbacks_(std::move(callbacks))
{
    init_debug();
    GstElement* pipeline = gst_pipeline_new(nullptr);
    pipeline_.reset(GST_PIPELINE(gst_object_ref_sink(pipeline)));
    // Live sources come and go: the pipeline runs on the system clock from
    // the start, whatever its children are.
    gst_pipeline_use_clock(pipeline_.get(), gst_system_clock_obtain());
    gst_element_set_state(GST_ELEMENT(pipeline_.get()), GST_STATE_PLAYING);
    GST_INFO("room %s created", id_.c_str());
}

Room::~Room()
{
    if (bus_watch_) {
        g_source_destroy(bus_watch_);
        g_source_unref(bus_watch_);
    }
    tracks_.clear();
    for (auto& entry : participants_)
        entry.second->shutdown();
    participants_.clear();
    gst_element_set_state(GST_ELEMENT(pipeline_.get()), GST_STATE_NULL);
    GST_INFO("room %s destroyed", id_.c_str());
}

std::string Room::track_id(const std::string& participant_id, const std::string& mid)
{
    return participant_id + "-" + mid;
}

std::shared_ptr<Participant> Room::join(const std::string& participant_id,
                                        ParticipantCallbacks callbacks, bool subscribes)
{
    if (!bus_watch_) {
        // Here rather than in the constructor: the watch needs weak_from_this.
        GstBus* bus = gst_pipeline_get_bus(pipeline_.get());
        bus_watch_ = gst_bus_create_watch(bus);
        g_source_set_callback(bus_watch_, G_SOURCE_FUNC(on_bus_message),
                              new std::weak_ptr<Room>(weak_from_this()), delete_weak_room);
        g_source_attach(bus_watch_, ctx_);
        gst_object_unref(bus);
    }
    if (participants_.count(participant_id))
        return nullptr;
    auto participant =
        std::make_shared<Participant>(participant_id, weak_from_this(), ctx_,
                                      GST_BIN(pipeline_.get()), config_, std::move(callbacks));
    participant->subscribes_ = subscribes;
    participant->start();
    participants_.emplace(participant_id, participant);
    for (auto& entry : tracks_)
        subscribe(*participant, *entry.second);
    participant->renegotiate();
    GST_INFO("room %s: %s joined", id_.c_str(), participant_id.c_str());
    return participant;
}

void Room::subscribe(Participant& subscriber, Track& track)
{
    if (track.info().participant_id == subscriber.id())
        return;
    if (!subscriber.subscribes_) {
        // WHEP: no renegotiation, but a silent m-line may show a new track.
        subscriber.refill_view({});
        return;
    }
    GstPad* sinkpad = subscriber.acquire_slot(track.info());
    if (!sinkpad || !track.add_subscription(subscriber.id(), sinkpad)) {
        subscriber.release_slot(track.info().id);
        GST_WARNING("room %s: cannot forward %s to %s", id_.c_str(), track.info().id.c_str(),
                    subscriber.id().c_str());
    }
}

void Room::on_track_ready(Participant& publisher, GstElement* tee, GstCaps* caps,
                          const std::string& mid, std::shared_ptr<KeyframeGate> gate)
{
    if (!participants_.count(publisher.id()))
        return;
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    TrackInfo info;
    info.participant_id = publisher.id();
    info.mid = mid;
    info.id = track_id(publisher.id(), mid);
    const gchar* media = gst_structure_get_string(s, "media");
    info.kind = media && g_str_equal(media, "audio") ? TrackKind::Audio : TrackKind::Video;
    if (const gchar* codec = gst_structure_get_string(s, "encoding-name"))
        info.codec = codec;
    gst_structure_get_uint(s, "ssrc", &info.ssrc);
    gst_structure_get_int(s, "payload", &info.payload);
    info.msid = publisher.remote_msid(mid);
    info.label = info.msid.substr(0, info.msid.find(' '));
    if (tracks_.count(info.id))
        return;  // caps renegotiated on a known pad

    auto track =
        std::make_shared<Track>(ctx_, GST_BIN(pipeline_.get()), tee, std::move(gate), info);
    tracks_.emplace(info.id, track);
    order_.push_back(info.id);
    GST_INFO("room %s: track %s published (%s %s, label '%s', ssrc %u, pt %d)", id_.c_str(),
             info.id.c_str(), to_string(info.kind), info.codec.c_str(), info.label.c_str(),
             info.ssrc, info.payload);
    for (auto& entry : participants_) {
        if (entry.first == publisher.id())
            continue;
        subscribe(*entry.second, *track);
        entry.second->renegotiate();
    }
    if (callbacks_.on_track_published)
        callbacks_.on_track_published(info);
}

bool Room::unpublish_track(const std::string& track_id)
{
    auto it = tracks_.find(track_id);
    if (it == tracks_.end())
        return false;
    auto track = it->second;
    tracks_.erase(it);
    order_.erase(std::remove(order_.begin(), order_.end(), track_id), order_.end());
    // The tee stays linked to the publisher's pad until the publisher leaves:
    // an unlinked webrtcbin src pad would fail its whole session.
    for (const auto& subscriber_id : track->subscribers()) {
        auto subscriber = participant(subscriber_id);
        bool flush = !subscriber || !subscriber->slot_negotiated(track_id);
        std::weak_ptr<Participant> weak = subscriber;
        track->remove_subscription(subscriber_id, flush, [weak, track_id, track]() {
            if (auto p = weak.lock())
                p->release_slot(track_id);
        });
    }
    GST_INFO("room %s: track %s unpublished", id_.c_str(), track_id.c_str());
    if (callbacks_.on_track_unpublished)
        callbacks_.on_track_unpublished(track->info());
    return true;
}

bool Room::leave(const std::string& participant_id, std::function<void()> done)
{
    auto it = participants_.find(participant_id);
    if (it == participants_.end())
        return false;
    auto leaving = it->second;
    participants_.erase(it);

    auto barrier = std::make_shared<Barrier>();
    auto self = shared_from_this();  // the room lives until the teardown is over
    barrier->done = [self, leaving, done]() {
        leaving->shutdown();
        GST_INFO("room %s: %s left", self->id_.c_str(), leaving->id().c_str());
        if (done)
            done();
    };
    // Its own tracks: unlinked from every subscriber, who renegotiate.
    std::vector<std::string> own;
    for (const auto& entry : tracks_)
        if (entry.second->info().participant_id == participant_id)
            own.push_back(entry.first);
    for (const auto& tid : own) {
        auto track = tracks_[tid];
        tracks_.erase(tid);
        order_.erase(std::remove(order_.begin(), order_.end(), tid), order_.end());
        for (const auto& subscriber_id : track->subscribers()) {
            auto subscriber = participant(subscriber_id);
            bool flush = !subscriber || !subscriber->slot_negotiated(tid);
            std::weak_ptr<Participant> weak = subscriber;
            barrier->pending++;
            track->remove_subscription(subscriber_id, flush, [weak, tid, track, barrier]() {
                if (auto p = weak.lock())
                    p->release_slot(tid);
                Barrier::arrive(barrier);
            });
        }
        if (callbacks_.on_track_unpublished)
            callbacks_.on_track_unpublished(track->info());
    }
    // Its subscriptions to others' tracks: its session is going away.
    for (auto& entry : tracks_) {
        if (!entry.second->has_subscription(participant_id))
            continue;
        barrier->pending++;
        entry.second->remove_subscription(participant_id, true,
                                          [barrier]() { Barrier::arrive(barrier); });
    }
    Barrier::arrive(barrier);
    return true;
}

std::shared_ptr<Participant> Room::participant(const std::string& participant_id) const
{
    auto it = participants_.find(participant_id);
    return it == participants_.end() ? nullptr : it->second;
}

std::shared_ptr<Track> Room::track(const std::string& track_id) const
{
    auto it = tracks_.find(track_id);
    return it == tracks_.end() ? nullptr : it->second;
}

std::vector<TrackInfo> Room::tracks() const
{
    std::vector<TrackInfo> infos;
    for (const auto& id : order_)
        if (auto it = tracks_.find(id); it != tracks_.end())
            infos.push_back(it->second->info());
    return infos;
}

gboolean Room::on_bus_message(GstBus*, GstMessage* message, gpointer data)
{
    auto room = static_cast<std::weak_ptr<Room>*>(data)->lock();
    if (!room)
        return G_SOURCE_REMOVE;
    switch (GST_MESSAGE_TYPE(message)) {
        case GST_MESSAGE_ERROR:
        case GST_MESSAGE_WARNING: {
            GError* error = nullptr;
            gchar* debug = nullptr;
            bool is_error = GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR;
            if (is_error)
                gst_message_parse_error(message, &error, &debug);
            else
                gst_message_parse_warning(message, &error, &debug);
            std::string text = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(message))) + ": " +
                               (error ? error->message : "?");
            GST_WARNING("room %s: %s (%s)", room->id_.c_str(), text.c_str(), debug ? debug : "");
            g_clear_error(&error);
            g_free(debug);
            if (is_error && room->callbacks_.on_error)
                room->callbacks_.on_error(text);
            break;
        }
        default:
            break;
    }
    return G_SOURCE_CONTINUE;
}

}  // namespace zumzi::media
