#include "room.h"

#include <gst/rtp/rtp.h>

#include <algorithm>

#include "preset.h"

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

// Reads the RFC 6464 level of one packet (no decoding): one byte, V flag
// in the top bit, the level in -dBov below it.
void read_level(Room::Levels& levels, GstBuffer* buffer)
{
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!gst_rtp_buffer_map(buffer, GST_MAP_READ, &rtp))
        return;
    gpointer data = nullptr;
    guint size = 0;
    guint8 appbits = 0;
    const guint8 id = static_cast<guint8>(levels.ext_id);
    bool found = (levels.ext_id <= 14 &&
                  gst_rtp_buffer_get_extension_onebyte_header(&rtp, id, 0, &data, &size)) ||
                 gst_rtp_buffer_get_extension_twobytes_header(&rtp, &appbits, id, 0, &data, &size);
    if (found && size >= 1) {
        const unsigned level = static_cast<const guint8*>(data)[0] & 0x7f;
        levels.packets++;
        if (level <= levels.threshold) {
            levels.voiced++;
            levels.last_voiced_us = g_get_monotonic_time();
        }
    }
    gst_rtp_buffer_unmap(&rtp);
}

GstPadProbeReturn on_audio_packets(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto& levels = **static_cast<std::shared_ptr<Room::Levels>*>(data);
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
        read_level(levels, GST_PAD_PROBE_INFO_BUFFER(info));
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        for (guint i = 0; i < gst_buffer_list_length(list); i++)
            read_level(levels, gst_buffer_list_get(list, i));
    }
    return GST_PAD_PROBE_OK;
}

void delete_levels(gpointer data)
{
    delete static_cast<std::shared_ptr<Room::Levels>*>(data);
}

bool is_screen(const TrackInfo& info)
{
    return info.label == "screen";
}

// What the composite's mixer waits for a decoded frame beyond the
// jitterbuffer's latency (decoding, scheduling on a busy machine).
constexpr unsigned kCompositeLatencyMs = 200;

}  // namespace

Room::Room(std::string id, GMainContext* ctx, const MediaConfig& config, RoomCallbacks callbacks)
    : id_(std::move(id)),
      ctx_(ctx),
      config_(config),
      callbacks_(std::move(callbacks)),
      last_n_(config.last_n)
{
    init_debug();
    GstElement* pipeline = gst_pipeline_new(nullptr);
    pipeline_.reset(GST_PIPELINE(gst_object_ref_sink(pipeline)));
    // Live sources come and go: the pipeline runs on the system clock from
    // the start, whatever its children are.
    GstClock* clock = gst_system_clock_obtain();
    gst_pipeline_use_clock(pipeline_.get(), clock);
    gst_object_unref(clock);
    gst_element_set_state(GST_ELEMENT(pipeline_.get()), GST_STATE_PLAYING);
    // The mixer waits for frames that passed the jitterbuffer and a decoder.
    composite_ = std::make_unique<Composite>(
        ctx_, GST_BIN(pipeline_.get()), id_, config_.latency_ms + kCompositeLatencyMs,
        [this](const OutputEvent& event) {
            if (callbacks_.on_output)
                callbacks_.on_output(event);
        });
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
    recent_.push_back(participant_id);
    for (auto& entry : tracks_)
        subscribe(*participant, *entry.second);
    participant->renegotiate();
    GST_INFO("room %s: %s joined", id_.c_str(), participant_id.c_str());
    return participant;
}

bool Room::subscribe(Participant& subscriber, Track& track)
{
    if (track.info().participant_id == subscriber.id() || deaf_.count(subscriber.id()))
        return false;
    if (!subscriber.subscribes_) {
        // WHEP: no renegotiation, but a silent m-line may show a new track.
        subscriber.refill_view({});
        return false;
    }
    GstPad* sinkpad = subscriber.acquire_slot(track.info());
    if (!sinkpad || !track.add_subscription(subscriber.id(), sinkpad)) {
        subscriber.release_slot(track.info().id);
        GST_WARNING("room %s: cannot forward %s to %s", id_.c_str(), track.info().id.c_str(),
                    subscriber.id().c_str());
        return false;
    }
    // Paused from the start if it must be (muted, outside last-N, ...).
    if (should_pause(track, subscriber.id()))
        track.set_paused(subscriber.id(), true);
    return true;
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

    auto held = withheld_.find(publisher.id());
    if (held != withheld_.end())
        for (const auto& w : held->second)
            if (w.track->info().id == info.id)
                return;  // caps renegotiated on a withheld pad

    auto track =
        std::make_shared<Track>(ctx_, GST_BIN(pipeline_.get()), tee, std::move(gate), info);
    std::shared_ptr<Levels> levels;
    if (info.kind == TrackKind::Audio)
        levels = watch_levels(publisher, tee, info);
    if (barred_.count(publisher.id())) {
        GST_INFO("room %s: track %s withheld: %s may not publish", id_.c_str(), info.id.c_str(),
                 publisher.id().c_str());
        withheld_[publisher.id()].push_back(Withheld{track, levels, false});
        return;
    }
    GST_INFO("room %s: track %s published (%s %s, label '%s', ssrc %u, pt %d)", id_.c_str(),
             info.id.c_str(), to_string(info.kind), info.codec.c_str(), info.label.c_str(),
             info.ssrc, info.payload);
    if (levels)
        start_levels(info.id, levels);
    publish(track);
}

void Room::publish(std::shared_ptr<Track> track)
{
    const TrackInfo info = track->info();
    tracks_.emplace(info.id, track);
    order_.push_back(info.id);
    for (auto& entry : participants_) {
        if (entry.first == info.participant_id)
            continue;
        if (subscribe(*entry.second, *track))
            entry.second->renegotiate();
    }
    // A first camera may put its publisher into the last-N set.
    update_forwarding();
    update_composite();
    if (callbacks_.on_track_published) {
        TrackInfo out = info;
        out.muted = muted_.count(info.id) != 0;
        callbacks_.on_track_published(out);
    }
}

bool Room::unpublish_track(const std::string& track_id)
{
    // A withheld track whose pad ended is simply forgotten: it was taken
    // down (and announced) when it was withheld.
    for (auto w = withheld_.begin(); w != withheld_.end(); ++w) {
        auto& list = w->second;
        for (auto it = list.begin(); it != list.end(); ++it) {
            if (it->track->info().id != track_id)
                continue;
            list.erase(it);
            if (list.empty())
                withheld_.erase(w);
            return true;
        }
    }
    auto it = tracks_.find(track_id);
    if (it == tracks_.end())
        return false;
    take_down(it->second);  // by value: it erases the map's copy
    return true;
}

void Room::take_down(std::shared_ptr<Track> track)
{
    const std::string track_id = track->info().id;
    tracks_.erase(track_id);
    forget_track(track_id);
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
    update_forwarding();
    update_composite();
    if (callbacks_.on_track_unpublished)
        callbacks_.on_track_unpublished(track->info());
}

void Room::withhold(const std::string& track_id)
{
    auto it = tracks_.find(track_id);
    if (it == tracks_.end())
        return;
    auto track = it->second;
    auto levels = levels_.find(track_id);
    Withheld w{track, levels == levels_.end() ? nullptr : levels->second,
               muted_.count(track_id) != 0};
    take_down(track);
    withheld_[track->info().participant_id].push_back(std::move(w));
    GST_INFO("room %s: track %s withheld", id_.c_str(), track_id.c_str());
}

bool Room::set_may_publish(const std::string& participant_id, bool may)
{
    if (!participants_.count(participant_id))
        return false;
    if (may == !barred_.count(participant_id))
        return true;
    if (!may) {
        barred_.insert(participant_id);
        std::vector<std::string> own;
        for (const auto& tid : order_) {
            auto it = tracks_.find(tid);
            if (it != tracks_.end() && it->second->info().participant_id == participant_id)
                own.push_back(tid);
        }
        for (const auto& tid : own)
            withhold(tid);
        return true;
    }
    barred_.erase(participant_id);
    auto it = withheld_.find(participant_id);
    if (it == withheld_.end())
        return true;
    std::vector<Withheld> list = std::move(it->second);
    withheld_.erase(it);
    for (auto& w : list) {
        const std::string tid = w.track->info().id;
        GST_INFO("room %s: track %s published again", id_.c_str(), tid.c_str());
        if (w.muted)
            muted_.insert(tid);
        if (w.levels) {
            w.levels->ticked = w.levels->voiced.load();
            start_levels(tid, w.levels);
        }
        publish(w.track);
    }
    return true;
}

bool Room::may_publish(const std::string& participant_id) const
{
    return participants_.count(participant_id) && !barred_.count(participant_id);
}

bool Room::set_receiving(const std::string& participant_id, bool receiving)
{
    auto subscriber = participant(participant_id);
    if (!subscriber)
        return false;
    if (!receiving) {
        if (deaf_.insert(participant_id).second) {
            GST_INFO("room %s: %s receives nothing", id_.c_str(), participant_id.c_str());
            update_forwarding();
        }
        return true;
    }
    deaf_.erase(participant_id);
    // Joined without subscribing (but no WHEP viewer): a subscriber now.
    if (!subscriber->subscribes_ && subscriber->views_.empty())
        subscriber->subscribes_ = true;
    bool added = false;
    if (subscriber->subscribes_) {
        for (const auto& tid : order_) {
            auto it = tracks_.find(tid);
            if (it == tracks_.end() || it->second->has_subscription(participant_id))
                continue;
            added = subscribe(*subscriber, *it->second) || added;
        }
    }
    if (added)
        subscriber->renegotiate();
    update_forwarding();
    return true;
}

bool Room::receiving(const std::string& participant_id) const
{
    return participants_.count(participant_id) && !deaf_.count(participant_id);
}

bool Room::leave(const std::string& participant_id, std::function<void()> done)
{
    auto it = participants_.find(participant_id);
    if (it == participants_.end())
        return false;
    auto leaving = it->second;
    participants_.erase(it);
    recent_.erase(std::remove(recent_.begin(), recent_.end(), participant_id), recent_.end());
    choices_.erase(participant_id);
    speakers_.erase(participant_id);
    barred_.erase(participant_id);
    withheld_.erase(participant_id);  // never forwarded: nothing to unlink
    deaf_.erase(participant_id);

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
        forget_track(tid);
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
    // A viewer of the composite: once its subscriptions are gone, the
    // composite may go (if nothing else uses it).
    if (composite_->has_viewer(participant_id)) {
        auto unlinked = std::make_shared<Barrier>();
        unlinked->done = [self, participant_id]() {
            self->composite_->remove_viewer(participant_id);
        };
        for (const auto& track : composite_->tracks()) {
            if (!track->has_subscription(participant_id))
                continue;
            unlinked->pending++;
            barrier->pending++;
            track->remove_subscription(participant_id, true, [unlinked, barrier]() {
                Barrier::arrive(unlinked);
                Barrier::arrive(barrier);
            });
        }
        Barrier::arrive(unlinked);
    }
    // Someone else may enter the last-N set.
    update_forwarding();
    // Its tracks leave the composite before its tees go.
    barrier->pending++;
    update_composite([barrier]() { Barrier::arrive(barrier); });
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
    for (const auto& id : order_) {
        auto it = tracks_.find(id);
        if (it == tracks_.end())
            continue;
        infos.push_back(it->second->info());
        infos.back().muted = muted_.count(id) != 0;
    }
    return infos;
}

void Room::forget_track(const std::string& track_id)
{
    order_.erase(std::remove(order_.begin(), order_.end(), track_id), order_.end());
    muted_.erase(track_id);
    levels_.erase(track_id);
    for (auto& entry : choices_)
        entry.second.unsubscribed.erase(track_id);
}

bool Room::set_track_muted(const std::string& track_id, bool muted)
{
    auto it = tracks_.find(track_id);
    if (it == tracks_.end())
        return false;
    if ((muted_.count(track_id) != 0) == muted)
        return true;  // already so: nothing changes, nobody is told
    if (muted)
        muted_.insert(track_id);
    else
        muted_.erase(track_id);
    GST_INFO("room %s: track %s %s", id_.c_str(), track_id.c_str(), muted ? "muted" : "unmuted");
    update_forwarding();
    update_composite();
    if (callbacks_.on_track_muted) {
        TrackInfo info = it->second->info();
        info.muted = muted;
        callbacks_.on_track_muted(info);
    }
    return true;
}

Room::Choice Room::set_subscribed(const std::string& subscriber_id, const std::string& track_id,
                                  bool subscribed)
{
    if (!participants_.count(subscriber_id))
        return Choice::UnknownParticipant;
    auto it = tracks_.find(track_id);
    if (it == tracks_.end())
        return Choice::UnknownTrack;
    if (it->second->info().participant_id == subscriber_id)
        return Choice::OwnTrack;
    Choices& choices = choices_[subscriber_id];
    if (subscribed)
        choices.unsubscribed.erase(track_id);
    else
        choices.unsubscribed.insert(track_id);
    update_forwarding();
    return Choice::Ok;
}

Room::Choice Room::set_audio_only(const std::string& subscriber_id, bool audio_only)
{
    if (!participants_.count(subscriber_id))
        return Choice::UnknownParticipant;
    choices_[subscriber_id].audio_only = audio_only;
    update_forwarding();
    return Choice::Ok;
}

bool Room::subscribed(const std::string& subscriber_id, const std::string& track_id) const
{
    auto it = choices_.find(subscriber_id);
    return it == choices_.end() || !it->second.unsubscribed.count(track_id);
}

bool Room::audio_only(const std::string& subscriber_id) const
{
    auto it = choices_.find(subscriber_id);
    return it != choices_.end() && it->second.audio_only;
}

void Room::set_last_n(unsigned n)
{
    if (n == last_n_)
        return;
    last_n_ = n;
    update_forwarding();
}

std::vector<std::string> Room::forwarded_video() const
{
    std::vector<std::string> ids;
    for (const auto& pid : recent_) {
        if (last_n_ > 0 && !forwarded_.count(pid))
            continue;
        for (const auto& entry : tracks_) {
            const TrackInfo& info = entry.second->info();
            if (info.participant_id == pid && info.kind == TrackKind::Video && !is_screen(info)) {
                ids.push_back(pid);
                break;
            }
        }
    }
    return ids;
}

bool Room::speaking(const std::string& participant_id) const
{
    auto it = speakers_.find(participant_id);
    return it != speakers_.end() && it->second.speaking;
}

bool Room::forwarding(const std::string& track_id, const std::string& subscriber_id) const
{
    auto track = this->track(track_id);
    return track && track->has_subscription(subscriber_id) && !track->paused(subscriber_id);
}

bool Room::should_pause(const Track& track, const std::string& subscriber_id) const
{
    const TrackInfo& info = track.info();
    if (deaf_.count(subscriber_id))
        return true;
    if (muted_.count(info.id))
        return true;
    auto c = choices_.find(subscriber_id);
    if (c != choices_.end()) {
        if (c->second.unsubscribed.count(info.id))
            return true;
        if (c->second.audio_only && info.kind == TrackKind::Video)
            return true;
    }
    if (info.kind == TrackKind::Video && last_n_ > 0 && !is_screen(info) &&
        !forwarded_.count(info.participant_id)) {
        // WHEP viewers (joined without subscribing) chose their tracks.
        auto subscriber = participant(subscriber_id);
        return subscriber && subscriber->subscribes_;
    }
    return false;
}

void Room::update_forwarding()
{
    forwarded_.clear();
    if (last_n_ > 0) {
        for (const auto& pid : recent_) {
            if (forwarded_.size() >= last_n_)
                break;
            // A muted camera does not take one of the N places.
            for (const auto& entry : tracks_) {
                const TrackInfo& info = entry.second->info();
                if (info.participant_id == pid && info.kind == TrackKind::Video &&
                    !is_screen(info) && !muted_.count(entry.first)) {
                    forwarded_.insert(pid);
                    break;
                }
            }
        }
    }
    for (auto& entry : tracks_) {
        Track& track = *entry.second;
        bool keyframe = false;
        for (const auto& subscriber_id : track.subscribers()) {
            const bool pause = should_pause(track, subscriber_id);
            if (track.paused(subscriber_id) == pause)
                continue;
            track.set_paused(subscriber_id, pause);
            GST_DEBUG("room %s: %s -> %s %s", id_.c_str(), entry.first.c_str(),
                      subscriber_id.c_str(), pause ? "paused" : "resumed");
            if (!pause && track.info().kind == TrackKind::Video)
                keyframe = true;
        }
        // A resumed decoder waits for a keyframe.
        if (keyframe)
            track.request_keyframe();
    }
}

void Room::start_levels(const std::string& track_id, std::shared_ptr<Levels> levels)
{
    levels_[track_id] = std::move(levels);
    if (!levels_timer_.active())
        levels_timer_.start(ctx_, config_.speaking_tick_ms, [this]() { on_levels_tick(); });
}

std::shared_ptr<Room::Levels> Room::watch_levels(Participant& publisher, GstElement* tee,
                                                 const TrackInfo& info)
{
    const int ext_id = publisher.remote_extmap_id(info.mid, kAudioLevelUri);
    if (ext_id < 1 || ext_id > 255) {
        GST_INFO("room %s: %s sends no audio levels", id_.c_str(), info.id.c_str());
        return nullptr;
    }
    auto levels = std::make_shared<Levels>();
    // The publisher's packets carry it under the forwarded id from its src
    // pad on (see Participant).
    levels->ext_id = kForwardedAudioLevelId;
    levels->threshold = config_.speaking_level;
    GstPad* sink = gst_element_get_static_pad(tee, "sink");
    gst_pad_add_probe(
        sink,
        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        on_audio_packets, new std::shared_ptr<Levels>(levels), delete_levels);
    gst_object_unref(sink);
    GST_INFO("room %s: audio levels of %s from extension %d (forwarded as %d)", id_.c_str(),
             info.id.c_str(), ext_id, kForwardedAudioLevelId);
    return levels;
}

void Room::on_levels_tick()
{
    const gint64 now = g_get_monotonic_time();
    struct Heard {
        unsigned voiced = 0;
        gint64 last_us = 0;
    };
    std::map<std::string, Heard> heard;  // by participant id
    for (auto& entry : levels_) {
        Levels& levels = *entry.second;
        const unsigned voiced = levels.voiced.load();
        const unsigned delta = voiced - levels.ticked;
        levels.ticked = voiced;
        auto track = tracks_.find(entry.first);
        // A muted microphone is not a speaker.
        if (track == tracks_.end() || muted_.count(entry.first))
            continue;
        Heard& h = heard[track->second->info().participant_id];
        h.voiced += delta;
        h.last_us = std::max(h.last_us, levels.last_voiced_us.load());
    }
    bool reorder = false;
    std::vector<std::pair<std::string, bool>> changes;
    for (const auto& entry : participants_) {
        Speaker& speaker = speakers_[entry.first];
        auto h = heard.find(entry.first);
        if (!speaker.speaking && h != heard.end() &&
            h->second.voiced >= config_.speaking_min_voiced) {
            speaker.speaking = true;
            changes.emplace_back(entry.first, true);
            // The latest speaker goes first in the last-N order.
            recent_.erase(std::remove(recent_.begin(), recent_.end(), entry.first), recent_.end());
            recent_.insert(recent_.begin(), entry.first);
            reorder = true;
        } else if (speaker.speaking &&
                   (h == heard.end() || now - h->second.last_us >
                                            static_cast<gint64>(config_.speaking_hold_ms) * 1000)) {
            speaker.speaking = false;
            changes.emplace_back(entry.first, false);
        }
    }
    if (reorder) {
        update_forwarding();
        update_composite();
    }
    for (const auto& change : changes) {
        GST_INFO("room %s: %s %s speaking", id_.c_str(), change.first.c_str(),
                 change.second ? "started" : "stopped");
        if (callbacks_.on_speaking)
            callbacks_.on_speaking(change.first, change.second);
    }
    bool anyone_speaking = false;
    for (const auto& entry : speakers_)
        anyone_speaking = anyone_speaking || entry.second.speaking;
    if (!levels_.empty() || anyone_speaking)
        levels_timer_.start(ctx_, config_.speaking_tick_ms, [this]() { on_levels_tick(); });
}

void Room::update_composite(std::function<void()> removed)
{
    std::vector<CompositeInput> inputs;
    for (const auto& tid : order_) {
        auto it = tracks_.find(tid);
        if (it == tracks_.end() || muted_.count(tid))
            continue;
        const TrackInfo& info = it->second->info();
        auto name = display_names_.find(info.participant_id);
        std::string label = name != display_names_.end() ? name->second : info.participant_id;
        if (is_screen(info))
            label += " (screen)";
        inputs.push_back(CompositeInput{it->second, label});
    }
    // The latest speaker (recent_ puts them first) is shown large.
    composite_->set_speaker(recent_.empty() ? std::string() : recent_.front());
    composite_->set_inputs(std::move(inputs), std::move(removed));
}

bool Room::set_preset(const std::string& preset)
{
    const Preset* p = find_preset(preset);
    if (!p)
        return false;
    video_start_kbps_ = static_cast<unsigned>(p->video_kbps);
    return true;
}

bool Room::set_composite_preset(const std::string& preset)
{
    return composite_->set_preset(preset);
}

void Room::set_layout(Layout layout)
{
    composite_->set_layout(layout);
}

Layout Room::layout() const
{
    return composite_->layout();
}

void Room::set_display_name(const std::string& participant_id, const std::string& name)
{
    if (name.empty())
        display_names_.erase(participant_id);
    else
        display_names_[participant_id] = name;
    update_composite();
}

bool Room::start_output(OutputKind kind, const OutputOptions& options)
{
    return composite_->start_output(kind, options);
}

bool Room::stop_output(OutputKind kind, std::function<void()> done)
{
    return composite_->stop_output(kind, std::move(done));
}

bool Room::output_running(OutputKind kind) const
{
    return composite_->output_running(kind);
}

bool Room::add_composite_viewer(const std::string& participant_id)
{
    if (!participants_.count(participant_id))
        return false;
    return composite_->add_viewer(participant_id);
}

std::vector<TrackInfo> Room::view_tracks(const std::string& from_participant) const
{
    if (from_participant != kCompositeParticipant)
        return tracks();
    std::vector<TrackInfo> infos;
    for (const auto& track : composite_->tracks())
        infos.push_back(track->info());
    return infos;
}

std::shared_ptr<Track> Room::view_track(const std::string& track_id) const
{
    if (auto published = track(track_id))
        return published;
    for (const auto& track : composite_->tracks())
        if (track->info().id == track_id)
            return track;
    return nullptr;
}

void Room::finalise_outputs(std::function<void()> done, unsigned timeout_ms)
{
    auto self = shared_from_this();  // alive until the outputs are finalised
    composite_->finalise(timeout_ms, [self, done]() {
        if (done)
            done();
    });
}

gboolean Room::on_bus_message(GstBus*, GstMessage* message, gpointer data)
{
    auto room = static_cast<std::weak_ptr<Room>*>(data)->lock();
    if (!room)
        return G_SOURCE_REMOVE;
    if (room->composite_->handle_message(message))
        return G_SOURCE_CONTINUE;
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
