#include "composite.h"

#include <glib/gstdio.h>

#include <algorithm>

#include "preset.h"

GST_DEBUG_CATEGORY_STATIC(zumzi_composite_debug);
#define GST_CAT_DEFAULT zumzi_composite_debug

namespace zumzi::media {

namespace {

void init_debug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(zumzi_composite_debug, "zumzi-composite", 0,
                                "Zumzi room composite and live outputs");
        g_once_init_leave(&once, 1);
    }
}

// How long a stopping output may take to finalise before it is given up.
constexpr unsigned kStopTimeoutMs = 10000;

// The WebRTC encode branch: payload types as browsers offer them (a viewer
// that offers others gets its own through Track's rewriting), a keyframe
// at least every 2 s.
constexpr int kVideoPayload = 96;
constexpr int kAudioPayload = 111;
constexpr int kKeyframeSeconds = 2;

const char* location_property(OutputKind kind)
{
    switch (kind) {
        case OutputKind::Hls:
            return "hls-playlist-location";
        case OutputKind::Rtmp:
            return "rtmp-location";
        case OutputKind::Record:
            return "record-location";
    }
    return "";
}

bool has_suffix_ci(const std::string& s, const char* suffix)
{
    const size_t n = strlen(suffix);
    return s.size() > n && g_ascii_strcasecmp(s.c_str() + s.size() - n, suffix) == 0;
}

// The containers zumzilivesink records to.
bool recordable(const std::string& path)
{
    for (const char* ext : {".mp4", ".m4v", ".mov", ".mkv", ".ts", ".flv"})
        if (has_suffix_ci(path, ext))
            return true;
    return false;
}

GstElement* make(const char* factory)
{
    GstElement* e = gst_element_factory_make(factory, nullptr);
    if (!e)
        GST_ERROR("no element '%s' (missing GStreamer plugin)", factory);
    return e;
}

// Everything needed to take a branch down; holds only GStreamer references,
// so it completes even if the Composite is gone meanwhile.
struct BranchRemoval {
    GMainContext* ctx;
    std::shared_ptr<GstBin> bin;
    std::shared_ptr<GstElement> tee;
    std::shared_ptr<GstPad> tee_pad;
    std::shared_ptr<GstElement> mixer;
    std::shared_ptr<GstPad> mixer_pad;
    std::vector<std::shared_ptr<GstElement>> elements;  // upstream first
    std::function<void()> done;
};

void finish_branch_removal(const std::shared_ptr<BranchRemoval>& r)
{
    if (r->tee_pad)
        gst_element_release_request_pad(r->tee.get(), r->tee_pad.get());
    // Upstream first: once the queue is NULL nothing reaches the mixer pad.
    for (auto& e : r->elements)
        gst_element_set_state(e.get(), GST_STATE_NULL);
    for (auto& e : r->elements)
        if (GST_OBJECT_PARENT(e.get()) == GST_OBJECT(r->bin.get()))
            gst_bin_remove(r->bin.get(), e.get());
    if (r->mixer_pad && GST_OBJECT_PARENT(r->mixer_pad.get()))
        gst_element_release_request_pad(r->mixer.get(), r->mixer_pad.get());
    if (r->done)
        r->done();
}

GstPadProbeReturn unlink_branch_when_idle(GstPad* pad, GstPadProbeInfo*, gpointer data)
{
    auto removal = *static_cast<std::shared_ptr<BranchRemoval>*>(data);
    GstPad* peer = gst_pad_get_peer(pad);
    if (peer) {
        gst_pad_unlink(pad, peer);
        gst_object_unref(peer);
    }
    post_to_main(removal->ctx, [removal]() { finish_branch_removal(removal); });
    return GST_PAD_PROBE_REMOVE;
}

void delete_branch_removal(gpointer data)
{
    delete static_cast<std::shared_ptr<BranchRemoval>*>(data);
}

// Counts outstanding removals and runs `done` after the last.
struct Countdown {
    int pending = 1;  // released by the caller once everything is started
    std::function<void()> done;
    static void arrive(const std::shared_ptr<Countdown>& c)
    {
        if (--c->pending == 0 && c->done)
            c->done();
    }
};

void remove_elements(GstBin* bin, const std::vector<std::shared_ptr<GstElement>>& elements)
{
    // Upstream first: once it is NULL nothing reaches the next one.
    for (auto& e : elements)
        gst_element_set_state(e.get(), GST_STATE_NULL);
    for (auto& e : elements)
        if (GST_OBJECT_PARENT(e.get()) == GST_OBJECT(bin))
            gst_bin_remove(bin, e.get());
}

}  // namespace

const char* const kCompositeParticipant = "composite";
const char* const kCompositeVideoCodec = "VP8";
const char* const kCompositeAudioCodec = "OPUS";

const char* to_string(OutputKind kind)
{
    switch (kind) {
        case OutputKind::Hls:
            return "hls";
        case OutputKind::Rtmp:
            return "rtmp";
        case OutputKind::Record:
            return "record";
    }
    return "?";
}

std::optional<OutputKind> output_kind_from_string(std::string_view name)
{
    for (OutputKind k : {OutputKind::Hls, OutputKind::Rtmp, OutputKind::Record})
        if (name == to_string(k))
            return k;
    return std::nullopt;
}

const char* to_string(OutputState state)
{
    switch (state) {
        case OutputState::Starting:
            return "starting";
        case OutputState::Live:
            return "live";
        case OutputState::Failed:
            return "failed";
        case OutputState::Stopped:
            return "stopped";
    }
    return "?";
}

const char* to_string(Layout layout)
{
    switch (layout) {
        case Layout::Grid:
            return "grid";
        case Layout::Speaker:
            return "speaker";
        case Layout::Pip:
            return "pip";
    }
    return "?";
}

std::optional<Layout> layout_from_string(std::string_view name)
{
    for (Layout l : {Layout::Grid, Layout::Speaker, Layout::Pip})
        if (name == to_string(l))
            return l;
    return std::nullopt;
}

// One decode branch: tee pad ! queue ! depayloader ! decoder ! mixer pad.
struct Composite::Branch {
    std::shared_ptr<Track> track;  // keeps the tee while the branch exists
    std::string label;
    std::shared_ptr<GstPad> tee_pad;
    std::shared_ptr<GstPad> mixer_pad;
    std::vector<std::shared_ptr<GstElement>> elements;  // upstream first
};

Composite::Composite(GMainContext* ctx, GstBin* bin, std::string room_id, unsigned latency_ms,
                     OutputCallback on_output)
    : ctx_(ctx),
      bin_(GST_BIN(gst_object_ref(bin))),
      room_id_(std::move(room_id)),
      latency_ms_(latency_ms),
      on_output_(std::move(on_output))
{
    init_debug();
}

Composite::~Composite()
{
    outputs_.clear();
    if (!mixer_)
        return;
    // The room is going: no finalising, just take everything out.
    for (auto& entry : branches_) {
        Branch& b = *entry.second;
        GstPad* peer = gst_pad_get_peer(b.tee_pad.get());
        if (peer) {
            gst_pad_unlink(b.tee_pad.get(), peer);
            gst_object_unref(peer);
        }
        auto r = std::make_shared<BranchRemoval>(
            BranchRemoval{ctx_, shared_ref(bin_.get()), shared_ref(b.track->tee()), b.tee_pad,
                          shared_ref(mixer_.get()), b.mixer_pad, b.elements, nullptr});
        finish_branch_removal(r);
    }
    branches_.clear();
    std::vector<std::shared_ptr<GstElement>> rest{shared_ref(mixer_.get()),
                                                  shared_ref(video_tee_.get()),
                                                  shared_ref(audio_tee_.get())};
    for (const auto& sink : {live_sink_, webrtc_})
        if (sink)
            rest.insert(rest.end(), sink->elements.begin(), sink->elements.end());
    tracks_.clear();
    remove_elements(bin_.get(), rest);
}

bool Composite::set_preset(const std::string& preset)
{
    const Preset* p = find_preset(preset);
    if (!p)
        return false;
    preset_ = std::string(p->name);
    return true;
}

void Composite::set_layout(Layout layout)
{
    layout_ = layout;
    if (mixer_)
        gst_util_set_object_arg(G_OBJECT(mixer_.get()), "layout", to_string(layout));
}

void Composite::set_speaker(const std::string& participant_id)
{
    if (participant_id == speaker_)
        return;
    speaker_ = participant_id;
    apply_speaker();
}

void Composite::apply_speaker()
{
    if (!mixer_)
        return;
    // The speaker's camera, else any video of theirs (a screen share).
    std::string pad;
    for (const auto& entry : branches_) {
        const TrackInfo& info = entry.second->track->info();
        if (info.participant_id != speaker_ || info.kind != TrackKind::Video)
            continue;
        if (pad.empty() || info.label != "screen")
            pad = GST_PAD_NAME(entry.second->mixer_pad.get());
    }
    GST_DEBUG("room %s: composite speaker %s (%s)", room_id_.c_str(), speaker_.c_str(),
              pad.c_str());
    g_object_set(mixer_.get(), "speaker", pad.empty() ? nullptr : pad.c_str(), nullptr);
}

void Composite::set_inputs(std::vector<CompositeInput> inputs, std::function<void()> removed)
{
    inputs_ = std::move(inputs);
    auto countdown = std::make_shared<Countdown>();
    countdown->done = std::move(removed);
    if (mixer_) {
        std::vector<std::string> gone;
        for (const auto& entry : branches_) {
            bool wanted = std::any_of(inputs_.begin(), inputs_.end(), [&](const auto& in) {
                return in.track->info().id == entry.first;
            });
            if (!wanted)
                gone.push_back(entry.first);
        }
        for (const auto& id : gone) {
            countdown->pending++;
            remove_branch(id, [countdown]() { Countdown::arrive(countdown); });
        }
        for (const auto& in : inputs_) {
            auto it = branches_.find(in.track->info().id);
            if (it == branches_.end()) {
                add_branch(in);
            } else if (it->second->label != in.label) {
                it->second->label = in.label;
                if (in.track->info().kind == TrackKind::Video)
                    g_object_set(it->second->mixer_pad.get(), "label", in.label.c_str(), nullptr);
            }
        }
        apply_speaker();
    }
    // Not from inside the caller.
    post_to_main(ctx_, [countdown]() { Countdown::arrive(countdown); });
}

void Composite::add_branch(const CompositeInput& input)
{
    const TrackInfo& info = input.track->info();
    const bool video = info.kind == TrackKind::Video;
    std::vector<const char*> factories;
    if (!video && info.codec == "OPUS")
        factories = {"queue", "rtpopusdepay", "opusdec"};
    else if (video && info.codec == "VP8")
        factories = {"queue", "rtpvp8depay", "vp8dec"};
    else if (video && info.codec == "H264")
        factories = {"queue", "rtph264depay", "avdec_h264"};
    if (factories.empty()) {
        GST_WARNING("room %s: track %s (%s) cannot be mixed: unsupported codec", room_id_.c_str(),
                    info.id.c_str(), info.codec.c_str());
        return;
    }
    auto branch = std::make_shared<Branch>();
    branch->track = input.track;
    branch->label = input.label;
    for (const char* f : factories) {
        GstElement* e = make(f);
        if (!e)
            return;  // the ones made so far go with `branch`
        branch->elements.push_back(shared_adopt(GST_ELEMENT(gst_object_ref_sink(e))));
    }
    GstElement* queue = branch->elements.front().get();
    // Decoding never holds the publisher's thread back: its own thread, and
    // old packets are dropped rather than blocking the tee.
    g_object_set(queue, "leaky", 2 /* downstream */, "max-size-buffers", 0u, "max-size-bytes", 0u,
                 "max-size-time", static_cast<guint64>(2 * GST_SECOND), nullptr);
    if (video) {
        // After a loss: drop until the next keyframe, and ask for one
        // (upstream through the tee, rate-limited by the publisher's probe).
        g_object_set(branch->elements[1].get(), "wait-for-keyframe", TRUE, "request-keyframe",
                     TRUE, nullptr);
    }
    for (auto& e : branch->elements)
        gst_bin_add(bin_.get(), e.get());
    bool ok = true;
    for (size_t i = 0; i + 1 < branch->elements.size() && ok; i++)
        ok = gst_element_link(branch->elements[i].get(), branch->elements[i + 1].get());
    GstPad* mixer_pad = nullptr;
    if (ok) {
        mixer_pad = gst_element_request_pad_simple(mixer_.get(), video ? "video_%u" : "audio_%u");
        ok = mixer_pad != nullptr;
    }
    if (ok) {
        branch->mixer_pad = shared_adopt(mixer_pad);
        if (video)
            g_object_set(mixer_pad, "label", input.label.c_str(), nullptr);
        GstPad* src = gst_element_get_static_pad(branch->elements.back().get(), "src");
        ok = gst_pad_link(src, mixer_pad) == GST_PAD_LINK_OK;
        gst_object_unref(src);
    }
    if (!ok) {
        GST_WARNING("room %s: could not build the composite branch of %s", room_id_.c_str(),
                    info.id.c_str());
        auto r = std::make_shared<BranchRemoval>(
            BranchRemoval{ctx_, shared_ref(bin_.get()), nullptr, nullptr,
                          shared_ref(mixer_.get()), branch->mixer_pad, branch->elements, nullptr});
        finish_branch_removal(r);
        return;
    }
    // Downstream first, so that nothing flows into an element still NULL.
    for (auto it = branch->elements.rbegin(); it != branch->elements.rend(); ++it)
        gst_element_sync_state_with_parent(it->get());
    // The tee gives a new pad its sticky events (caps, segment) itself.
    GstPad* tee_pad = gst_element_request_pad_simple(input.track->tee(), "src_%u");
    GstPad* qsink = gst_element_get_static_pad(queue, "sink");
    ok = tee_pad && gst_pad_link(tee_pad, qsink) == GST_PAD_LINK_OK;
    gst_object_unref(qsink);
    if (tee_pad)
        branch->tee_pad = shared_adopt(tee_pad);
    if (!ok) {
        GST_WARNING("room %s: could not link %s into the composite", room_id_.c_str(),
                    info.id.c_str());
        auto r = std::make_shared<BranchRemoval>(BranchRemoval{
            ctx_, shared_ref(bin_.get()), shared_ref(input.track->tee()), branch->tee_pad,
            shared_ref(mixer_.get()), branch->mixer_pad, branch->elements, nullptr});
        finish_branch_removal(r);
        return;
    }
    branches_.emplace(info.id, branch);
    // The decoder starts at a keyframe.
    input.track->request_keyframe();
    GST_INFO("room %s: %s (%s) into the composite as %s, label '%s'", room_id_.c_str(),
             info.id.c_str(), info.codec.c_str(), GST_PAD_NAME(branch->mixer_pad.get()),
             input.label.c_str());
}

void Composite::remove_branch(const std::string& track_id, std::function<void()> done)
{
    auto it = branches_.find(track_id);
    if (it == branches_.end()) {
        if (done)
            done();
        return;
    }
    auto branch = it->second;
    branches_.erase(it);
    auto removal = std::make_shared<BranchRemoval>(
        BranchRemoval{ctx_, shared_ref(bin_.get()), shared_ref(branch->track->tee()),
                      branch->tee_pad, shared_ref(mixer_.get()), branch->mixer_pad,
                      branch->elements, std::move(done)});
    GST_INFO("room %s: %s leaves the composite", room_id_.c_str(), track_id.c_str());
    // The tee pad is unlinked when no packet is on it: the publisher and
    // the other branches never wait.
    gst_pad_add_probe(branch->tee_pad.get(), GST_PAD_PROBE_TYPE_IDLE, unlink_branch_when_idle,
                      new std::shared_ptr<BranchRemoval>(removal), delete_branch_removal);
}

bool Composite::build()
{
    GstElement* mixer = make("zumzimixer");
    GstElement* vtee = make("tee");
    GstElement* atee = make("tee");
    if (!mixer || !vtee || !atee) {
        for (GstElement* e : {mixer, vtee, atee})
            if (e)
                gst_object_unref(gst_object_ref_sink(e));
        return false;
    }
    mixer_.reset(GST_ELEMENT(gst_object_ref_sink(mixer)));
    video_tee_.reset(GST_ELEMENT(gst_object_ref_sink(vtee)));
    audio_tee_.reset(GST_ELEMENT(gst_object_ref_sink(atee)));
    // "default" is the room's default: hd (the mixer's own default is SD).
    const std::string preset = preset_ == "default" ? "hd" : preset_;
    built_preset_ = preset;
    gst_util_set_object_arg(G_OBJECT(mixer), "preset", preset.c_str());
    gst_util_set_object_arg(G_OBJECT(mixer), "layout", to_string(layout_));
    // WebRTC inputs are live: their frames arrive after the jitterbuffer
    // and the decoder; the mixer waits this long for them.
    g_object_set(mixer, "latency", static_cast<guint64>(latency_ms_) * GST_MSECOND, nullptr);
    // The mix runs on while its consumers come and go.
    g_object_set(vtee, "allow-not-linked", TRUE, nullptr);
    g_object_set(atee, "allow-not-linked", TRUE, nullptr);

    gst_bin_add_many(bin_.get(), mixer, vtee, atee, nullptr);
    bool ok = gst_element_link_pads(mixer, "video_src", vtee, "sink") &&
              gst_element_link_pads(mixer, "audio_src", atee, "sink") &&
              gst_element_sync_state_with_parent(vtee) &&
              gst_element_sync_state_with_parent(atee) &&
              gst_element_sync_state_with_parent(mixer);
    if (!ok) {
        GST_ERROR("room %s: could not build the composite", room_id_.c_str());
        remove_elements(bin_.get(), {shared_ref(mixer), shared_ref(vtee), shared_ref(atee)});
        mixer_.reset();
        video_tee_.reset();
        audio_tee_.reset();
        return false;
    }
    GST_INFO("room %s: composite built (%s, %s, %u ms)", room_id_.c_str(), preset.c_str(),
             to_string(layout_), latency_ms_);
    for (const auto& in : inputs_)
        add_branch(in);
    apply_speaker();
    return true;
}

bool Composite::attach(MixSink& sink, GstPad* video, GstPad* audio)
{
    // Downstream first, so that nothing flows into an element still NULL.
    for (auto it = sink.elements.rbegin(); it != sink.elements.rend(); ++it)
        if (!gst_element_sync_state_with_parent(it->get()))
            return false;
    bool ok = true;
    for (auto [tee, pad] : {std::make_pair(video_tee_.get(), video),
                            std::make_pair(audio_tee_.get(), audio)}) {
        if (!pad)
            continue;
        // The tee gives a new pad its sticky events (caps, segment) itself.
        GstPad* tee_pad = gst_element_request_pad_simple(tee, "src_%u");
        if (!tee_pad)
            return false;
        sink.tees.push_back(shared_ref(tee));
        sink.tee_pads.push_back(shared_adopt(tee_pad));
        ok = ok && gst_pad_link(tee_pad, pad) == GST_PAD_LINK_OK;
    }
    return ok;
}

void Composite::remove_now(MixSink& sink)
{
    for (size_t i = 0; i < sink.tee_pads.size(); i++)
        gst_element_release_request_pad(sink.tees[i].get(), sink.tee_pads[i].get());
    remove_elements(bin_.get(), sink.elements);
}

void Composite::detach(std::shared_ptr<MixSink> sink)
{
    if (!sink)
        return;
    auto countdown = std::make_shared<Countdown>();
    auto bin = shared_ref(bin_.get());
    auto elements = sink->elements;
    countdown->done = [bin, elements]() { remove_elements(bin.get(), elements); };
    for (size_t i = 0; i < sink->tee_pads.size(); i++) {
        countdown->pending++;
        auto removal = std::make_shared<BranchRemoval>(
            BranchRemoval{ctx_, bin, sink->tees[i], sink->tee_pads[i], nullptr, nullptr, {},
                          [countdown]() { Countdown::arrive(countdown); }});
        // Unlinked when no buffer is on the pad: the other consumer of the
        // mix never waits.
        gst_pad_add_probe(sink->tee_pads[i].get(), GST_PAD_PROBE_TYPE_IDLE,
                          unlink_branch_when_idle, new std::shared_ptr<BranchRemoval>(removal),
                          delete_branch_removal);
    }
    Countdown::arrive(countdown);
}

bool Composite::add_livesink()
{
    GstElement* livesink = make("zumzilivesink");
    if (!livesink)
        return false;
    livesink_.reset(GST_ELEMENT(gst_object_ref_sink(livesink)));
    auto sink = std::make_shared<MixSink>();
    sink->elements.push_back(shared_ref(livesink));
    gst_bin_add(bin_.get(), livesink);
    // The livesink's pads are requested while it is still NULL.
    GstPad* video = gst_element_request_pad_simple(livesink, "video");
    GstPad* audio = gst_element_request_pad_simple(livesink, "audio");
    bool ok = video && audio && attach(*sink, video, audio);
    if (video)
        gst_object_unref(video);
    if (audio)
        gst_object_unref(audio);
    if (!ok) {
        GST_ERROR("room %s: could not add the livesink", room_id_.c_str());
        remove_now(*sink);
        livesink_.reset();
        return false;
    }
    live_sink_ = sink;
    GST_INFO("room %s: livesink added", room_id_.c_str());
    return true;
}

bool Composite::add_webrtc()
{
    // The mix's size, whatever the preset became since it was built.
    const Preset* preset = find_preset(built_preset_);
    const char* factories[] = {"queue",        "vp8enc",  "rtpvp8pay",   "tee", "queue",
                               "audioconvert", "opusenc", "rtpopuspay", "tee"};
    auto sink = std::make_shared<MixSink>();
    for (const char* factory : factories) {
        GstElement* e = make(factory);
        if (!e) {
            remove_elements(bin_.get(), sink->elements);
            return false;
        }
        sink->elements.push_back(shared_adopt(GST_ELEMENT(gst_object_ref_sink(e))));
        gst_bin_add(bin_.get(), e);
    }
    auto el = [&](size_t i) { return sink->elements[i].get(); };
    GstElement* vqueue = el(0);
    GstElement* vp8enc = el(1);
    GstElement* vpay = el(2);
    GstElement* vtee = el(3);
    GstElement* aqueue = el(4);
    GstElement* apay = el(7);
    GstElement* atee = el(8);
    // A viewer wants the newest frame: a slow encoder drops old ones.
    g_object_set(vqueue, "max-size-buffers", 2u, "max-size-bytes", 0u, "max-size-time",
                 guint64(0), nullptr);
    g_object_set(aqueue, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                 guint64(200 * GST_MSECOND), nullptr);
    for (GstElement* q : {vqueue, aqueue})
        gst_util_set_object_arg(G_OBJECT(q), "leaky", "downstream");
    // Realtime VP8 at the preset's bitrate. GstVideoEncoder turns an
    // upstream GstForceKeyUnit (a viewer's PLI/FIR, or Track's request when
    // a viewer's answer was applied) into a keyframe.
    g_object_set(vp8enc, "deadline", gint64(1), "cpu-used", 8, "lag-in-frames", 0, "threads", 2,
                 "target-bitrate", preset->video_kbps * 1000, "keyframe-max-dist",
                 preset->framerate * kKeyframeSeconds, nullptr);
    gst_util_set_object_arg(G_OBJECT(vp8enc), "end-usage", "cbr");
    gst_util_set_object_arg(G_OBJECT(vp8enc), "error-resilient", "default");
    const guint video_ssrc = g_random_int();
    guint audio_ssrc = g_random_int();
    while (audio_ssrc == video_ssrc)
        audio_ssrc = g_random_int();
    g_object_set(vpay, "pt", kVideoPayload, "ssrc", video_ssrc, nullptr);
    gst_util_set_object_arg(G_OBJECT(vpay), "picture-id-mode", "15-bit");
    g_object_set(apay, "pt", kAudioPayload, "ssrc", audio_ssrc, nullptr);
    // Viewers come and go: the tees run without any.
    g_object_set(vtee, "allow-not-linked", TRUE, nullptr);
    g_object_set(atee, "allow-not-linked", TRUE, nullptr);

    bool ok = gst_element_link_many(vqueue, vp8enc, vpay, vtee, nullptr) &&
              gst_element_link_many(aqueue, el(5), el(6), apay, atee, nullptr);
    GstPad* vsink = gst_element_get_static_pad(vqueue, "sink");
    GstPad* asink = gst_element_get_static_pad(aqueue, "sink");
    ok = ok && attach(*sink, vsink, asink);
    gst_object_unref(vsink);
    gst_object_unref(asink);
    if (!ok) {
        GST_ERROR("room %s: could not build the WebRTC encode branch", room_id_.c_str());
        remove_now(*sink);
        return false;
    }
    webrtc_ = sink;
    const std::string prefix = std::string(kCompositeParticipant) + "-";
    TrackInfo video{prefix + "video", kCompositeParticipant, TrackKind::Video, kCompositeVideoCodec, "video",
                    "",               "composite",           video_ssrc,       kVideoPayload};
    TrackInfo audio{prefix + "audio", kCompositeParticipant, TrackKind::Audio, kCompositeAudioCodec, "audio",
                    "",               "composite",           audio_ssrc,       kAudioPayload};
    tracks_.push_back(std::make_shared<Track>(ctx_, bin_.get(), vtee,
                                              std::make_shared<KeyframeGate>(), video));
    tracks_.push_back(std::make_shared<Track>(ctx_, bin_.get(), atee,
                                              std::make_shared<KeyframeGate>(), audio));
    GST_INFO("room %s: WebRTC encode branch added (VP8 %d kbit/s, Opus)", room_id_.c_str(),
             preset->video_kbps);
    return true;
}

void Composite::release_unused()
{
    if (!mixer_)
        return;
    if (outputs_.empty() && viewers_.empty()) {
        teardown();
        return;
    }
    if (outputs_.empty() && live_sink_) {
        GST_INFO("room %s: livesink removed (no output left)", room_id_.c_str());
        detach(std::move(live_sink_));
        live_sink_.reset();
        livesink_.reset();
    }
    if (viewers_.empty() && webrtc_) {
        GST_INFO("room %s: WebRTC encode branch removed (no viewer left)", room_id_.c_str());
        detach(std::move(webrtc_));
        webrtc_.reset();
        tracks_.clear();
    }
}

bool Composite::add_viewer(const std::string& viewer_id)
{
    if (viewers_.count(viewer_id))
        return false;
    const bool built = !mixer_;
    if (!mixer_ && !build())
        return false;
    if (!webrtc_ && !add_webrtc()) {
        if (built)
            release_unused();
        return false;
    }
    viewers_.insert(viewer_id);
    GST_INFO("room %s: %s views the composite (%zu viewers)", room_id_.c_str(), viewer_id.c_str(),
             viewers_.size());
    return true;
}

void Composite::remove_viewer(const std::string& viewer_id)
{
    if (!viewers_.erase(viewer_id))
        return;
    GST_INFO("room %s: %s no longer views the composite", room_id_.c_str(), viewer_id.c_str());
    release_unused();
}

void Composite::teardown()
{
    if (!mixer_)
        return;
    GST_INFO("room %s: composite removed (no output nor viewer left)", room_id_.c_str());
    // Decode branches first (each unlinked from its tee when idle), then
    // the mixer, its tees and their consumers; all of it completes without
    // the Composite.
    auto countdown = std::make_shared<Countdown>();
    auto bin = shared_ref(bin_.get());
    std::vector<std::shared_ptr<GstElement>> rest{
        shared_ref(mixer_.get()), shared_ref(video_tee_.get()), shared_ref(audio_tee_.get())};
    for (const auto& sink : {live_sink_, webrtc_})
        if (sink)
            rest.insert(rest.end(), sink->elements.begin(), sink->elements.end());
    countdown->done = [bin, rest]() { remove_elements(bin.get(), rest); };
    std::vector<std::string> ids;
    for (const auto& entry : branches_)
        ids.push_back(entry.first);
    for (const auto& id : ids) {
        countdown->pending++;
        remove_branch(id, [countdown]() { Countdown::arrive(countdown); });
    }
    mixer_.reset();
    video_tee_.reset();
    audio_tee_.reset();
    livesink_.reset();
    live_sink_.reset();
    webrtc_.reset();
    tracks_.clear();
    Countdown::arrive(countdown);
}

bool Composite::start_output(OutputKind kind, const OutputOptions& options)
{
    if (outputs_.count(kind))
        return false;
    const std::string& loc = options.location;
    std::string value;  // the livesink's location property
    std::string segments;
    switch (kind) {
        case OutputKind::Hls: {
            if (loc.empty() || options.segment_seconds == 0 || options.playlist_length == 0)
                return false;
            if (g_mkdir_with_parents(loc.c_str(), 0755) != 0) {
                GST_WARNING("room %s: cannot create the HLS directory %s", room_id_.c_str(),
                            loc.c_str());
                return false;
            }
            gchar* playlist = g_build_filename(loc.c_str(), "index.m3u8", nullptr);
            // Segment names are never reused, not even by a later start
            // into the same directory (players and caches may keep them).
            std::string pattern =
                "segment-" + std::to_string(g_get_real_time() / 1000) + "-%05d.ts";
            gchar* seg = g_build_filename(loc.c_str(), pattern.c_str(), nullptr);
            value = playlist;
            segments = seg;
            g_free(playlist);
            g_free(seg);
            break;
        }
        case OutputKind::Rtmp:
            if (!(g_str_has_prefix(loc.c_str(), "rtmp://") ||
                  g_str_has_prefix(loc.c_str(), "rtmps://")) ||
                loc.find_first_of(" \t\r\n") != std::string::npos || loc.size() <= 8)
                return false;
            value = loc;
            break;
        case OutputKind::Record: {
            if (!recordable(loc))
                return false;
            gchar* dir = g_path_get_dirname(loc.c_str());
            bool dir_ok = g_file_test(dir, G_FILE_TEST_IS_DIR);
            g_free(dir);
            if (!dir_ok)
                return false;
            value = loc;
            break;
        }
    }
    const bool built = !mixer_;
    if (!mixer_ && !build())
        return false;
    if (!livesink_ && !add_livesink()) {
        if (built)
            release_unused();
        return false;
    }
    if (kind == OutputKind::Hls)
        g_object_set(livesink_.get(), "hls-location", segments.c_str(), "target-duration",
                     options.segment_seconds, "playlist-length", options.playlist_length,
                     "max-files", options.playlist_length + 2, nullptr);
    Output& out = outputs_[kind];
    out.options = options;
    out.location = value;
    GST_INFO("room %s: %s output to %s", room_id_.c_str(), to_string(kind), value.c_str());
    g_object_set(livesink_.get(), location_property(kind), value.c_str(), nullptr);
    return true;
}

bool Composite::stop_output(OutputKind kind, std::function<void()> done)
{
    return stop(kind, std::move(done), kStopTimeoutMs);
}

bool Composite::stop(OutputKind kind, std::function<void()> done, unsigned timeout_ms)
{
    auto it = outputs_.find(kind);
    if (it == outputs_.end())
        return false;
    Output& out = it->second;
    if (done)
        out.done.push_back(std::move(done));
    if (out.stopping)
        return true;
    out.stopping = true;
    GST_INFO("room %s: stopping the %s output", room_id_.c_str(), to_string(kind));
    out.timeout = std::make_unique<Timer>();
    out.timeout->start(ctx_, timeout_ms, [this, kind, timeout_ms]() {
        GST_WARNING("room %s: the %s output was not finalised within %u ms", room_id_.c_str(),
                    to_string(kind), timeout_ms);
        output_ended(kind, OutputState::Stopped,
                     "not finalised within " + std::to_string(timeout_ms) + " ms");
    });
    // Clearing the location makes the livesink send EOS into that output
    // only; it posts `stopped` once the EOS reached the output's sink.
    g_object_set(livesink_.get(), location_property(kind), nullptr, nullptr);
    return true;
}

bool Composite::output_running(OutputKind kind) const
{
    return outputs_.count(kind) != 0;
}

void Composite::output_ended(OutputKind kind, OutputState state, const std::string& error)
{
    auto it = outputs_.find(kind);
    if (it == outputs_.end())
        return;
    OutputEvent event{kind, state, it->second.options.location, error};
    auto done = std::move(it->second.done);
    outputs_.erase(it);
    GST_INFO("room %s: %s output %s%s%s", room_id_.c_str(), to_string(kind), to_string(state),
             error.empty() ? "" : ": ", error.c_str());
    // The last output gone: the livesink goes, and the composite too if
    // no viewer is left (before anyone is told, so that a new start builds
    // a fresh one).
    release_unused();
    if (on_output_)
        on_output_(event);
    for (auto& fn : done)
        if (fn)
            fn();
}

void Composite::finalise(unsigned timeout_ms, std::function<void()> done)
{
    auto countdown = std::make_shared<Countdown>();
    countdown->done = std::move(done);
    std::vector<OutputKind> kinds;
    for (const auto& entry : outputs_)
        kinds.push_back(entry.first);
    for (OutputKind kind : kinds) {
        countdown->pending++;
        stop(kind, [countdown]() { Countdown::arrive(countdown); }, timeout_ms);
    }
    release_unused();
    post_to_main(ctx_, [countdown]() { Countdown::arrive(countdown); });
}

bool Composite::handle_message(GstMessage* message)
{
    GstObject* src = GST_MESSAGE_SRC(message);
    switch (GST_MESSAGE_TYPE(message)) {
        case GST_MESSAGE_ELEMENT: {
            const GstStructure* s = gst_message_get_structure(message);
            if (!s || !gst_structure_has_name(s, "zumzi-livesink"))
                return false;
            if (!livesink_ || src != GST_OBJECT(livesink_.get()))
                return true;  // a livesink already gone
            auto kind = output_kind_from_string(
                gst_structure_get_string(s, "output") ? gst_structure_get_string(s, "output")
                                                      : "");
            const gchar* status = gst_structure_get_string(s, "status");
            const gchar* location = gst_structure_get_string(s, "location");
            if (!kind || !status || !location)
                return true;
            auto it = outputs_.find(*kind);
            if (it == outputs_.end() || it->second.location != location)
                return true;  // an earlier output of that kind
            Output& out = it->second;
            if (g_str_equal(status, "started") && !out.live && !out.stopping) {
                out.live = true;
                GST_INFO("room %s: %s output live", room_id_.c_str(), to_string(*kind));
                if (on_output_)
                    on_output_(OutputEvent{*kind, OutputState::Live, out.options.location, ""});
            } else if (g_str_equal(status, "stopped")) {
                output_ended(*kind, OutputState::Stopped, "");
            } else if (g_str_equal(status, "error")) {
                const gchar* error = gst_structure_get_string(s, "error");
                if (!out.stopping) {
                    // Clear the location so that a later start sets it anew.
                    g_object_set(livesink_.get(), location_property(*kind), nullptr, nullptr);
                    output_ended(*kind, OutputState::Failed, error ? error : "failed");
                } else {
                    output_ended(*kind, OutputState::Stopped, error ? error : "failed");
                }
            }
            return true;
        }
        case GST_MESSAGE_ERROR:
        case GST_MESSAGE_WARNING: {
            // The livesink's own reports of a failed output: the `error`
            // status above says it (the room's on_error need not). By the
            // time the bus watch sees them, the failed output's elements
            // (or the whole livesink) may be out of the pipeline already:
            // the debug text names the path the message was posted from.
            GError* error = nullptr;
            gchar* debug = nullptr;
            if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR)
                gst_message_parse_error(message, &error, &debug);
            else
                gst_message_parse_warning(message, &error, &debug);
            bool ours = (livesink_ && (src == GST_OBJECT(livesink_.get()) ||
                                       gst_object_has_as_ancestor(
                                           src, GST_OBJECT(livesink_.get())))) ||
                        (debug && strstr(debug, "/GstZumziLiveSink:"));
            if (!ours) {
                g_clear_error(&error);
                g_free(debug);
                return false;
            }
            GST_INFO("room %s: livesink %s: %s (%s)", room_id_.c_str(), GST_OBJECT_NAME(src),
                     error ? error->message : "?", debug ? debug : "");
            g_clear_error(&error);
            g_free(debug);
            return true;
        }
        default:
            return false;
    }
}

std::vector<GstElement*> Composite::elements() const
{
    std::vector<GstElement*> list;
    for (const auto& e : {mixer_.get(), video_tee_.get(), audio_tee_.get()})
        if (e)
            list.push_back(e);
    for (const auto& sink : {live_sink_, webrtc_})
        if (sink)
            for (const auto& e : sink->elements)
                list.push_back(e.get());
    for (const auto& entry : branches_)
        for (const auto& e : entry.second->elements)
            list.push_back(e.get());
    return list;
}

}  // namespace zumzi::media
