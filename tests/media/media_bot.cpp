#include "media_bot.h"

#include <gst/rtp/rtp.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <cstdlib>

namespace zumzi::media::test {

namespace {

struct WeakBot {
    std::weak_ptr<Bot> bot;
};

void delete_weak_bot(gpointer data, GClosure*)
{
    delete static_cast<WeakBot*>(data);
}

GstWebRTCSessionDescription* wait_description(GstPromise* promise, const char* field)
{
    GstWebRTCSessionDescription* desc = nullptr;
    if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
        const GstStructure* reply = gst_promise_get_reply(promise);
        if (reply)
            gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, nullptr);
    }
    gst_promise_unref(promise);
    return desc;
}

bool wait_ok(GstPromise* promise)
{
    bool ok = gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED;
    const GstStructure* reply = ok ? gst_promise_get_reply(promise) : nullptr;
    if (reply && gst_structure_has_field(reply, "error"))
        ok = false;
    gst_promise_unref(promise);
    return ok;
}

std::string sdp_text(GstWebRTCSessionDescription* desc)
{
    gchar* text = gst_sdp_message_as_text(desc->sdp);
    std::string s = text;
    g_free(text);
    return s;
}

GstWebRTCSessionDescription* parse(const std::string& sdp, GstWebRTCSDPType type)
{
    GstSDPMessage* msg = nullptr;
    gst_sdp_message_new_from_text(sdp.c_str(), &msg);
    return gst_webrtc_session_description_new(type, msg);
}

void on_bot_candidate(GstElement* webrtc, guint mline, gchar* candidate, gpointer data)
{
    auto weak = static_cast<WeakBot*>(data)->bot;
    std::string cand = candidate;
    auto bot = weak.lock();
    if (!bot || !bot->ice())
        return;
    Session session = webrtc == bot->subscribe_webrtcbin() ? Session::Subscribe : Session::Publish;
    bot.reset();
    post_to_main(g_main_context_default(), [weak, session, mline, cand]() {
        auto b = weak.lock();
        if (b && b->participant())
            b->participant()->add_ice_candidate(session, mline, cand);
    });
}

// A packet on the subscribe session: its audio level, read the way the
// subscriber negotiated it (RFC 6464: one byte, V bit and level), and
// whether an extension sits under an id negotiated for something else.
GstPadProbeReturn on_packet(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* counter = static_cast<Bot::Counter*>(data);
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!gst_rtp_buffer_map(GST_PAD_PROBE_INFO_BUFFER(info), GST_MAP_READ, &rtp))
        return GST_PAD_PROBE_OK;
    gpointer ext = nullptr;
    guint size = 0;
    if (!counter->video && counter->level_id > 0 &&
        gst_rtp_buffer_get_extension_onebyte_header(&rtp, counter->level_id, 0, &ext, &size) &&
        size == 1)
        counter->levels++;
    bool foreign = false;
    for (const auto& [id, uri] : counter->declared) {
        if (!gst_rtp_buffer_get_extension_onebyte_header(&rtp, id, 0, &ext, &size))
            continue;
        if (uri == kAudioLevelUri)
            foreign = foreign || counter->video || size != 1;
        else if (uri == kTwccUri)
            foreign = foreign || size != 2;
        else
            foreign = true;
    }
    if (foreign)
        counter->foreign++;
    gst_rtp_buffer_unmap(&rtp);
    return GST_PAD_PROBE_OK;
}

void on_handoff(GstElement*, GstBuffer*, GstPad*, gpointer data)
{
    static_cast<Bot::Counter*>(data)->count++;
}

void on_decoded_pad(GstElement* decodebin, GstPad* pad, gpointer data)
{
    auto* counter_video = static_cast<Bot::Counter*>(data);  // video counter of this stream
    GstCaps* caps = gst_pad_get_current_caps(pad);
    if (!caps)
        caps = gst_pad_query_caps(pad, nullptr);
    const gchar* name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    bool video = g_str_has_prefix(name, "video/");
    gst_caps_unref(caps);
    auto* counter = counter_video;
    if (video != counter->video)
        return;
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "signal-handoffs", TRUE, "sync", FALSE, "async", FALSE, nullptr);
    g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), counter);
    GstObject* bin = gst_element_get_parent(decodebin);
    gst_bin_add(GST_BIN(bin), sink);
    gst_object_unref(bin);
    gst_element_sync_state_with_parent(sink);
    GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
    gst_pad_link(pad, sinkpad);
    gst_object_unref(sinkpad);
}

// A stream arrived on the subscribe session: find its track id (the msid
// the engine put in the offer) and decode it.
void on_sub_pad_added(GstElement* webrtc, GstPad* pad, gpointer data)
{
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    auto bot = static_cast<WeakBot*>(data)->bot.lock();
    if (!bot)
        return;
    std::string mid;
    GstWebRTCRTPTransceiver* transceiver = nullptr;
    g_object_get(pad, "transceiver", &transceiver, nullptr);
    if (transceiver) {
        gchar* m = nullptr;
        g_object_get(transceiver, "mid", &m, nullptr);
        if (m)
            mid = m;
        g_free(m);
        gst_object_unref(transceiver);
    }
    std::string track_id = mid;
    std::string ssrc;
    if (GstCaps* caps = gst_pad_get_current_caps(pad)) {
        guint value = 0;
        if (gst_structure_get_uint(gst_caps_get_structure(caps, 0), "ssrc", &value))
            ssrc = std::to_string(value);
        gst_caps_unref(caps);
    }
    bool video = true;
    int level_id = 0;
    std::vector<std::pair<int, std::string>> declared;
    GstWebRTCSessionDescription* desc = nullptr;
    g_object_get(webrtc, "remote-description", &desc, nullptr);
    if (desc) {
        for (guint i = 0; i < gst_sdp_message_medias_len(desc->sdp); i++) {
            const GstSDPMedia* media = gst_sdp_message_get_media(desc->sdp, i);
            const gchar* m = gst_sdp_media_get_attribute_val(media, "mid");
            for (guint j = 0;; j++) {
                // "<id>[/<direction>] <uri> [<attributes>]"
                const gchar* v = gst_sdp_media_get_attribute_val_n(media, "extmap", j);
                if (!v)
                    break;
                gchar** parts = g_strsplit(v, " ", 3);
                if (parts[0] && parts[1]) {
                    declared.emplace_back(atoi(parts[0]), parts[1]);
                    if (m && mid == m && g_str_equal(parts[1], kAudioLevelUri))
                        level_id = atoi(parts[0]);
                }
                g_strfreev(parts);
            }
            if (!m || mid != m)
                continue;
            video = g_str_equal(gst_sdp_media_get_media(media), "video");
            std::string msid = sdp_media_msid(media);
            if (!msid.empty())
                track_id = msid.substr(0, msid.find(' '));
            // A reused m-line: the pad's SSRC says which track it carries.
            if (!ssrc.empty())
                for (guint j = 0;; j++) {
                    const gchar* v = gst_sdp_media_get_attribute_val_n(media, "ssrc", j);
                    if (!v)
                        break;
                    std::string line = v;
                    auto at = line.find(" msid:");
                    if (line.rfind(ssrc + " ", 0) == 0 && at != std::string::npos) {
                        std::string m = line.substr(at + 6);
                        track_id = m.substr(0, m.find(' '));
                    }
                }
        }
        gst_webrtc_session_description_free(desc);
    }
    if (g_getenv("ZUMZI_BOT_DEBUG"))
        g_printerr("%s: stream %s mid %s\n", bot->name().c_str(), track_id.c_str(), mid.c_str());
    Bot::Counter* counter = bot->new_counter(track_id, video);
    counter->level_id = level_id;
    counter->declared = declared;
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_packet, counter, nullptr);
    GstElement* decodebin = gst_element_factory_make("decodebin", nullptr);
    g_signal_connect(decodebin, "pad-added", G_CALLBACK(on_decoded_pad), counter);
    gst_bin_add(GST_BIN(bot->pipeline()), decodebin);
    gst_element_sync_state_with_parent(decodebin);
    GstPad* sinkpad = gst_element_get_static_pad(decodebin, "sink");
    gst_pad_link(pad, sinkpad);
    gst_object_unref(sinkpad);
}

// Decoders only start at a keyframe: a subscriber only decodes if the
// engine's keyframe request reached the publisher.
void on_deep_element_added(GstBin*, GstBin*, GstElement* element, gpointer)
{
    GstElementFactory* factory = gst_element_get_factory(element);
    if (factory && g_str_has_suffix(GST_OBJECT_NAME(factory), "depay") &&
        g_object_class_find_property(G_OBJECT_GET_CLASS(element), "wait-for-keyframe"))
        g_object_set(element, "wait-for-keyframe", TRUE, nullptr);
}

}  // namespace

bool wait_until(const std::function<bool()>& condition, int timeout_ms)
{
    gint64 end = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
    while (!condition()) {
        if (g_get_monotonic_time() > end)
            return condition();
        if (!g_main_context_iteration(nullptr, FALSE))
            g_usleep(2000);
    }
    return true;
}

void spin(int ms)
{
    wait_until([]() { return false; }, ms);
}

MediaConfig loopback_config()
{
    MediaConfig config;
    config.host_addresses = {"127.0.0.1"};
    return config;
}

std::shared_ptr<Bot> Bot::create(RoomRegistry& registry, const std::string& room,
                                 const std::string& name)
{
    auto bot = std::make_shared<Bot>(registry, room, name);
    std::weak_ptr<Bot> weak = bot;
    g_signal_connect_data(bot->pub_, "on-ice-candidate", G_CALLBACK(on_bot_candidate),
                          new WeakBot{weak}, delete_weak_bot, GConnectFlags(0));
    g_signal_connect_data(bot->sub_, "on-ice-candidate", G_CALLBACK(on_bot_candidate),
                          new WeakBot{weak}, delete_weak_bot, GConnectFlags(0));
    g_signal_connect_data(bot->sub_, "pad-added", G_CALLBACK(on_sub_pad_added), new WeakBot{weak},
                          delete_weak_bot, GConnectFlags(0));
    gst_element_set_state(bot->pipeline_, GST_STATE_PLAYING);

    ParticipantCallbacks callbacks;
    callbacks.on_ice_candidate = [weak](Session s, unsigned mline, const std::string& c) {
        if (auto b = weak.lock())
            b->on_engine_candidate(s, mline, c);
    };
    callbacks.on_subscribe_offer = [weak](const std::string& sdp) {
        if (auto b = weak.lock())
            b->on_subscribe_offer(sdp);
    };
    callbacks.on_connect_timeout = [weak](Session s) {
        if (auto b = weak.lock())
            b->connect_timeouts_[static_cast<int>(s)]++;
    };
    callbacks.on_error = [weak](Session s, const std::string& m) {
        g_printerr("engine error on %s session: %s\n", to_string(s), m.c_str());
        if (auto b = weak.lock())
            b->errors_++;
    };
    bot->participant_ = registry.join(room, name, callbacks);
    return bot;
}

Bot::Bot(RoomRegistry& registry, std::string room, std::string name)
    : registry_(registry), room_(std::move(room)), name_(std::move(name))
{
    pipeline_ = gst_pipeline_new(name_.c_str());
    g_signal_connect(pipeline_, "deep-element-added", G_CALLBACK(on_deep_element_added), nullptr);
    pub_ = gst_element_factory_make("webrtcbin", "pub");
    sub_ = gst_element_factory_make("webrtcbin", "sub");
    MediaConfig config = loopback_config();
    configure_webrtcbin(pub_, config);
    configure_webrtcbin(sub_, config);
    gst_bin_add_many(GST_BIN(pipeline_), pub_, sub_, nullptr);
}

Bot::~Bot()
{
    leave();
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    for (GstPad* pad : pub_pads_)
        gst_object_unref(pad);
    gst_object_unref(pipeline_);
}

void Bot::leave()
{
    if (left_ || !participant_)
        return;
    left_ = true;
    registry_.leave(room_, name_);
    participant_.reset();
}

void Bot::add_source(const std::string& description, const std::string& msid)
{
    GError* error = nullptr;
    GstElement* source = gst_parse_bin_from_description(description.c_str(), TRUE, &error);
    if (!source) {
        g_printerr("bad bot source: %s\n", error->message);
        g_error_free(error);
        return;
    }
    gst_bin_add(GST_BIN(pipeline_), source);
    GstPad* sinkpad = gst_element_request_pad_simple(pub_, "sink_%u");
    g_object_set(sinkpad, "msid", msid.c_str(), nullptr);
    GstWebRTCRTPTransceiver* transceiver = nullptr;
    g_object_get(sinkpad, "transceiver", &transceiver, nullptr);
    g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
    gst_object_unref(transceiver);
    GstPad* srcpad = gst_element_get_static_pad(source, "src");
    gst_pad_link(srcpad, sinkpad);
    gst_object_unref(srcpad);
    pub_pads_.push_back(sinkpad);
    gst_element_sync_state_with_parent(source);
}

static const char* kCamera =
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! "
    "vp8enc deadline=1 keyframe-max-dist=100000 target-bitrate=256000 ! rtpvp8pay pt=%d ! "
    "application/x-rtp,media=video,encoding-name=VP8,payload=%d,clock-rate=90000,"
    "rtcp-fb-nack-pli=(boolean)true ! queue";

void Bot::publish(bool video, bool audio)
{
    if (video) {
        gchar* desc = g_strdup_printf(kCamera, 96, 96);
        std::string camera = desc;
        g_free(desc);
        if (video_twcc_id_) {
            const std::string fb = "rtcp-fb-nack-pli=(boolean)true";
            camera.replace(
                camera.find(fb), fb.size(),
                fb + ",extmap-" + std::to_string(video_twcc_id_) + "=(string)" + kTwccUri);
        }
        add_source(camera, "camera");
    }
    if (audio)
        // The payloader writes the RFC 6464 audio level (from the level
        // element's meta) because the caps after it name the extension.
        add_source(
            "audiotestsrc name=micsrc is-live=true wave=sine volume=0.1 ! "
            "audio/x-raw,rate=48000,channels=1 ! level audio-level-meta=true post-messages=false ! "
            "opusenc ! rtpopuspay pt=111 ! "
            "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,"
            "extmap-" +
                std::to_string(audio_level_id_) +
                "=(GstValueArray)<(string)\"\",(string)urn:ietf:params:rtp-hdrext:ssrc-audio-"
                "level,"
                "(string)\"vad=on\">"
                " ! queue",
            "mic");
    send_offer();
}

void Bot::set_talking(bool talking)
{
    GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline_), "micsrc");
    if (!src)
        return;
    g_object_set(src, "volume", talking ? 0.1 : 0.0, nullptr);
    gst_object_unref(src);
}

void Bot::freeze()
{
    // Like a tab that froze: nothing more leaves either session, while
    // libnice's own thread keeps answering ICE checks.
    gst_element_set_state(pipeline_, GST_STATE_PAUSED);
}

void Bot::publish_h264()
{
    // config-interval=-1: SPS/PPS with every IDR, so a keyframe is enough
    // for a subscriber that joins late.
    add_source(
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 "
        "! "
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=100000 bitrate=256 ! "
        "video/x-h264,profile=constrained-baseline ! "
        "rtph264pay pt=102 config-interval=-1 aggregate-mode=zero-latency ! "
        "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
        "rtcp-fb-nack-pli=(boolean)true ! queue",
        "camera");
    publish(false, true);
}

void Bot::add_screen()
{
    gchar* desc = g_strdup_printf(kCamera, 97, 97);
    std::string d = desc;
    g_free(desc);
    d.replace(d.find("pattern=ball"), 12, "pattern=smpte");
    add_source(d, "screen");
    send_offer();
}

void Bot::send_offer()
{
    // The offer's a=ssrc lines come from the sink pads' caps: wait for them.
    wait_until(
        [this]() {
            for (GstPad* pad : pub_pads_) {
                GstCaps* caps = gst_pad_get_current_caps(pad);
                if (!caps)
                    return false;
                bool has = gst_structure_has_field(gst_caps_get_structure(caps, 0), "ssrc");
                gst_caps_unref(caps);
                if (!has)
                    return false;
            }
            return true;
        },
        5000);
    GstPromise* promise = gst_promise_new();
    g_signal_emit_by_name(pub_, "create-offer", nullptr, promise);
    GstWebRTCSessionDescription* offer = wait_description(promise, "offer");
    if (!offer) {
        errors_++;
        return;
    }
    promise = gst_promise_new();
    g_signal_emit_by_name(pub_, "set-local-description", offer, promise);
    if (!wait_ok(promise))
        errors_++;
    std::string sdp = sdp_text(offer);
    gst_webrtc_session_description_free(offer);
    std::weak_ptr<Bot> weak = weak_from_this();
    bool ok = participant_->publish_offer(sdp, [weak](bool ok, const std::string& answer) {
        auto bot = weak.lock();
        if (!bot)
            return;
        if (!ok) {
            g_printerr("publish refused: %s\n", answer.c_str());
            bot->errors_++;
            return;
        }
        bot->last_publish_answer_ = answer;
        GstWebRTCSessionDescription* desc = parse(answer, GST_WEBRTC_SDP_TYPE_ANSWER);
        GstPromise* p = gst_promise_new();
        g_signal_emit_by_name(bot->pub_, "set-remote-description", desc, p);
        if (!wait_ok(p))
            bot->errors_++;
        gst_webrtc_session_description_free(desc);
        bot->publish_answers_++;
    });
    if (!ok)
        errors_++;
}

void Bot::on_subscribe_offer(const std::string& sdp)
{
    subscribe_offers_++;
    last_offer_ = sdp;
    if (!answer_offers_)
        return;
    if (g_getenv("ZUMZI_BOT_DEBUG"))
        g_printerr("%s got offer:\n%s\n", name_.c_str(), sdp.c_str());
    GstWebRTCSessionDescription* offer = parse(sdp, GST_WEBRTC_SDP_TYPE_OFFER);
    GstPromise* promise = gst_promise_new();
    g_signal_emit_by_name(sub_, "set-remote-description", offer, promise);
    if (!wait_ok(promise))
        errors_++;
    gst_webrtc_session_description_free(offer);
    promise = gst_promise_new();
    g_signal_emit_by_name(sub_, "create-answer", nullptr, promise);
    GstWebRTCSessionDescription* answer = wait_description(promise, "answer");
    if (!answer) {
        errors_++;
        return;
    }
    promise = gst_promise_new();
    g_signal_emit_by_name(sub_, "set-local-description", answer, promise);
    if (!wait_ok(promise))
        errors_++;
    if (participant_ && participant_->subscribe_answer(sdp_text(answer)))
        subscribe_answers_sent_++;
    gst_webrtc_session_description_free(answer);
}

void Bot::on_engine_candidate(Session session, unsigned mline, const std::string& candidate)
{
    if (!ice_)
        return;
    GstElement* webrtc = session == Session::Publish ? pub_ : sub_;
    g_signal_emit_by_name(webrtc, "add-ice-candidate", mline, candidate.c_str());
}

Bot::Counter* Bot::new_counter(const std::string& track_id, bool video)
{
    std::lock_guard<std::mutex> guard(lock_);
    counters_.push_back(std::make_unique<Counter>());
    counters_.back()->track_id = track_id;
    counters_.back()->video = video;
    return counters_.back().get();
}

int Bot::video_frames_from(const std::string& participant) const
{
    std::lock_guard<std::mutex> guard(lock_);
    int n = 0;
    for (const auto& c : counters_)
        if (c->video && c->track_id.rfind(participant + "-", 0) == 0)
            n += c->count;
    return n;
}

int Bot::video_frames_of(const std::string& track_id) const
{
    std::lock_guard<std::mutex> guard(lock_);
    int n = 0;
    for (const auto& c : counters_)
        if (c->video && c->track_id == track_id)
            n += c->count;
    return n;
}

int Bot::audio_buffers_from(const std::string& participant) const
{
    std::lock_guard<std::mutex> guard(lock_);
    int n = 0;
    for (const auto& c : counters_)
        if (!c->video && c->track_id.rfind(participant + "-", 0) == 0)
            n += c->count;
    return n;
}

int Bot::audio_levels_from(const std::string& participant) const
{
    std::lock_guard<std::mutex> guard(lock_);
    int n = 0;
    for (const auto& c : counters_)
        if (!c->video && c->track_id.rfind(participant + "-", 0) == 0)
            n += c->levels;
    return n;
}

int Bot::foreign_extensions_from(const std::string& participant) const
{
    std::lock_guard<std::mutex> guard(lock_);
    int n = 0;
    for (const auto& c : counters_)
        if (c->track_id.rfind(participant + "-", 0) == 0)
            n += c->foreign;
    return n;
}

int Bot::video_streams_with(int min) const
{
    std::lock_guard<std::mutex> guard(lock_);
    int n = 0;
    for (const auto& c : counters_)
        if (c->video && c->count >= min)
            n++;
    return n;
}

}  // namespace zumzi::media::test
