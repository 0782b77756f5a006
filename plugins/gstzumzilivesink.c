/**
 * SECTION:element-zumzilivesink
 * @title: zumzilivesink
 *
 * A sink bin for live output. Raw video into the `video` pad is encoded once
 * with x264 (tune=zerolatency, `speed-preset` (superfast), a keyframe every two
 * seconds, or every half `target-duration` when HLS is on and that is shorter,
 * `bitrate` or the room preset's bitrate for the input size); raw
 * audio into the `audio` pad is encoded once to AAC. Both streams are then
 * shared (tee) by the outputs the properties ask for:
 *
 * - HLS (`hls-playlist-location`, `hls-location`, `target-duration`,
 *   `playlist-length`, `max-files`): hlssink2, MPEG-TS segments.
 * - RTMP (`rtmp-location`): flvmux ! rtmp2sink. Its queue is leaky, so a
 *   slow server never holds the other outputs back.
 * - A recording (`record-location`): MP4 (`.mp4`, `.m4v`, `.mov`),
 *   Matroska (`.mkv`), MPEG-TS (`.ts`) or FLV (`.flv`) by the extension.
 *
 * Either request pad may be left out (video-only or audio-only output).
 *
 * Outputs start when the element goes to PAUSED, and start or stop while
 * PAUSED or PLAYING when their location property is set or cleared: a new
 * output starts at the next keyframe (one is requested), and a stopped one
 * is finalised with its own EOS (a recording gets its index and plays to
 * the end) and removed, without touching the other outputs. Each change
 * posts an element message:
 *
 * ```
 * zumzi-livesink, output=(string){hls,rtmp,record}, location=(string)...,
 *     status=(string){started,stopped,error}[, error=(string)...]
 * ```
 *
 * `started` comes with the first keyframe a recording or HLS output
 * receives, and for RTMP once rtmp2sink is connected to the server and
 * publishing (a refused or unanswered connection never posts it), `stopped`
 * when a stopped output has been finalised and removed, `error` when an
 * output failed (an RTMP server refused or dropped the connection, a file
 * could not be written): that output is removed, the others go on and the
 * error is posted as a warning. Only when no output is left running is the
 * error posted as an error. To retry, set the location again.
 *
 * To stop the whole thing so that files are complete, send EOS to the
 * pipeline (gst-launch-1.0 -e, or gst_element_send_event(pipeline,
 * gst_event_new_eos())) and wait for the EOS message before setting it to
 * NULL.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e zumzilivesink name=out record-location=out.mp4 \
 *     videotestsrc num-buffers=90 ! video/x-raw,width=320,height=240 ! out.video \
 *     audiotestsrc num-buffers=140 ! out.audio
 * ]|
 */
#include "gstzumzilivesink.h"

#include <gst/video/video.h>
#include <math.h>
#include <string.h>

#include "gstzumzipreset.h"

GST_DEBUG_CATEGORY_STATIC(gst_zumzi_live_sink_debug);
#define GST_CAT_DEFAULT gst_zumzi_live_sink_debug

#define DEFAULT_TARGET_DURATION 2
#define DEFAULT_PLAYLIST_LENGTH 5
#define DEFAULT_MAX_FILES 10
#define DEFAULT_BITRATE 0
#define DEFAULT_AUDIO_BITRATE 128000
#define DEFAULT_SPEED_PRESET SPEED_SUPERFAST
#define AUDIO_RATE 48000

typedef enum { KIND_HLS, KIND_RTMP, KIND_RECORD, N_KINDS } OutputKind;

/* x264's speed presets that can run live, with x264enc's numbers and names.
 * superfast is the default: at 1920x1080 30 fps its x264 threads used about
 * 300 ms of CPU per second where veryfast used 550 (a 2-core EPYC VM,
 * docs/benchmarks.md, "Composite and HLS"), for ~1 dB less SSIM. */
typedef enum {
    SPEED_ULTRAFAST = 1,
    SPEED_SUPERFAST = 2,
    SPEED_VERYFAST = 3,
    SPEED_FASTER = 4,
    SPEED_FAST = 5,
    SPEED_MEDIUM = 6,
} SpeedPreset;

#define GST_TYPE_ZUMZI_SPEED_PRESET (gst_zumzi_speed_preset_get_type())
static GType gst_zumzi_speed_preset_get_type(void)
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {SPEED_ULTRAFAST, "ultrafast: cheapest, visibly worse at the same bitrate", "ultrafast"},
        {SPEED_SUPERFAST, "superfast", "superfast"},
        {SPEED_VERYFAST, "veryfast: about 1.8x superfast's CPU", "veryfast"},
        {SPEED_FASTER, "faster", "faster"},
        {SPEED_FAST, "fast", "fast"},
        {SPEED_MEDIUM, "medium", "medium"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type)) {
        GType t = g_enum_register_static("GstZumziSpeedPreset", values);
        g_once_init_leave(&type, t);
    }
    return type;
}

/* Sets x264enc's speed-preset by name (its enum type is x264enc's own). */
static void apply_speed_preset(GstElement* encoder, SpeedPreset preset)
{
    GEnumClass* klass = g_type_class_ref(GST_TYPE_ZUMZI_SPEED_PRESET);
    GEnumValue* v = g_enum_get_value(klass, preset);
    if (v)
        gst_util_set_object_arg(G_OBJECT(encoder), "speed-preset", v->value_nick);
    g_type_class_unref(klass);
}
static const gchar* const kind_names[N_KINDS] = {"hls", "rtmp", "record"};

/* An output is STARTING while output_start builds it (its elements may
 * already fail, e.g. rtmp2sink connects as it starts), then RUNNING. */
enum { OUTPUT_STARTING, OUTPUT_RUNNING, OUTPUT_STOPPING, OUTPUT_FAILED };

typedef struct {
    gint refcount;
    GstZumziLiveSink* sink; /* not owned; valid while the output is in its list */
    OutputKind kind;
    gchar* location;
    GPtrArray* elements; /* the branch's elements, owned by the bin */
    GstElement* vqueue;
    GstElement* aqueue;
    GstElement* last; /* its EOS means the output is finalised */
    GstPad* vtee_pad;
    GstPad* atee_pad;
    gulong vprobe, aprobe; /* on the tee pads; they hold a ref on the output */
    gint state;            /* atomic: OUTPUT_* */
    gint started;          /* atomic: data has gone in */
    gint announced;        /* atomic: "started" was posted */
    gchar* start_error;    /* why it failed while STARTING (under the sink's lock) */
} Output;

/* The encode chain of one stream: queue ! ... ! encoder ! tee. */
typedef struct {
    GstPad* ghost;
    GstElement* first;
    GstElement* encoder;
    GstElement* tee;
    GstElement* fakesink; /* keeps the bin a sink and ends with EOS */
    GPtrArray* elements;
} Stream;

struct _GstZumziLiveSink {
    GstBin parent;

    GMutex lock; /* everything below */
    gchar* hls_location;
    gchar* hls_playlist_location;
    guint target_duration;
    guint playlist_length;
    guint max_files;
    gchar* rtmp_location;
    gchar* record_location;
    guint bitrate;
    guint audio_bitrate;
    SpeedPreset speed_preset;

    Stream* video;
    Stream* audio;
    GList* outputs;             /* Output*, running or being stopped */
    GstClockTime next_keyframe; /* stream time of the next forced keyframe */
    gboolean running;           /* PAUSED or PLAYING: outputs exist */
};

enum {
    PROP_0,
    PROP_HLS_LOCATION,
    PROP_HLS_PLAYLIST_LOCATION,
    PROP_TARGET_DURATION,
    PROP_PLAYLIST_LENGTH,
    PROP_MAX_FILES,
    PROP_RTMP_LOCATION,
    PROP_RECORD_LOCATION,
    PROP_BITRATE,
    PROP_AUDIO_BITRATE,
    PROP_SPEED_PRESET,
};

static GstStaticPadTemplate video_template =
    GST_STATIC_PAD_TEMPLATE("video", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("video/x-raw"));
static GstStaticPadTemplate audio_template =
    GST_STATIC_PAD_TEMPLATE("audio", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("audio/x-raw"));

#define gst_zumzi_live_sink_parent_class parent_class
G_DEFINE_TYPE(GstZumziLiveSink, gst_zumzi_live_sink, GST_TYPE_BIN)
GST_ELEMENT_REGISTER_DEFINE(zumzilivesink, "zumzilivesink", GST_RANK_NONE, GST_TYPE_ZUMZI_LIVE_SINK)

/* ---------------------------------------------------------------- helpers */

static GstElement* make(GPtrArray* into, const gchar* factory, const gchar* name)
{
    GstElement* e = gst_element_factory_make(factory, name);
    if (e)
        g_ptr_array_add(into, e);
    return e;
}

/* Drops an element that was never added to the bin. */
static void discard(gpointer element)
{
    gst_object_unref(gst_object_ref_sink(element));
}

static const gchar* aac_encoder_factory(void)
{
    static const gchar* const candidates[] = {"avenc_aac", "voaacenc", "fdkaacenc"};
    for (guint i = 0; i < G_N_ELEMENTS(candidates); i++) {
        GstElementFactory* f = gst_element_factory_find(candidates[i]);
        if (f) {
            gst_object_unref(f);
            return candidates[i];
        }
    }
    return NULL;
}

/* The muxer factory for a recording file name, or NULL if unknown. */
static const gchar* record_muxer(const gchar* location)
{
    if (!location)
        return NULL;
    gchar* lower = g_ascii_strdown(location, -1);
    const gchar* mux = NULL;
    if (g_str_has_suffix(lower, ".mp4") || g_str_has_suffix(lower, ".m4v") ||
        g_str_has_suffix(lower, ".mov"))
        mux = "mp4mux";
    else if (g_str_has_suffix(lower, ".mkv"))
        mux = "matroskamux";
    else if (g_str_has_suffix(lower, ".ts"))
        mux = "mpegtsmux";
    else if (g_str_has_suffix(lower, ".flv"))
        mux = "flvmux";
    g_free(lower);
    return mux;
}

static gboolean is_set(const gchar* s)
{
    return s && *s;
}

/* ---------------------------------------------------------------- outputs */

static Output* output_ref(Output* o)
{
    g_atomic_int_inc(&o->refcount);
    return o;
}

static void output_unref(gpointer data)
{
    Output* o = data;
    if (!g_atomic_int_dec_and_test(&o->refcount))
        return;
    g_free(o->location);
    g_free(o->start_error);
    g_ptr_array_unref(o->elements);
    gst_clear_object(&o->vtee_pad);
    gst_clear_object(&o->atee_pad);
    g_free(o);
}

static void post_status(GstZumziLiveSink* self, Output* o, const gchar* status, const gchar* error)
{
    GstStructure* s = gst_structure_new("zumzi-livesink", "output", G_TYPE_STRING,
                                        kind_names[o->kind], "location", G_TYPE_STRING, o->location,
                                        "status", G_TYPE_STRING, status, NULL);
    if (error)
        gst_structure_set(s, "error", G_TYPE_STRING, error, NULL);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

/* Posts `started` once. HLS and recordings have started when data has gone
 * in; an RTMP output when rtmp2sink is connected (see rtmp_connected_probe). */
static void announce_started(Output* o)
{
    if (g_atomic_int_compare_and_exchange(&o->announced, 0, 1))
        post_status(o->sink, o, "started", NULL);
}

/* The first data has gone into an output. */
static void data_went_in(Output* o)
{
    if (g_atomic_int_compare_and_exchange(&o->started, 0, 1) && o->kind != KIND_RTMP)
        announce_started(o);
}

/* On rtmp2sink's sink pad, before each buffer: rtmp2sink connects (and
 * starts publishing) on its first buffer that carries a message, blocking
 * that render until it is connected or has failed; the FLV header and
 * stream headers before it pass without a connection. Its `stats` come from
 * the connection once there is one: bytes received mean the server has
 * answered the handshake and the connect and publish commands. So the
 * buffer after the one that connected posts `started`; a refused or
 * unanswered connection never does. */
static GstPadProbeReturn rtmp_connected_probe(GstPad* pad, GstPadProbeInfo* info,
                                              gpointer user_data)
{
    (void)info;
    Output* o = user_data;
    if (g_atomic_int_get(&o->announced))
        return GST_PAD_PROBE_REMOVE;
    if (g_atomic_int_get(&o->state) != OUTPUT_RUNNING)
        return GST_PAD_PROBE_OK;
    GstObject* sink = gst_pad_get_parent(pad);
    if (!sink)
        return GST_PAD_PROBE_OK;
    GstStructure* stats = NULL;
    g_object_get(sink, "stats", &stats, NULL);
    gst_object_unref(sink);
    guint64 in_bytes = 0;
    if (stats) {
        gst_structure_get_uint64(stats, "in-bytes-total", &in_bytes);
        gst_structure_free(stats);
    }
    if (in_bytes == 0)
        return GST_PAD_PROBE_OK;
    GST_INFO_OBJECT(o->sink, "rtmp connected to %s", o->location);
    announce_started(o);
    return GST_PAD_PROBE_REMOVE;
}

static GstPadProbeReturn video_probe(GstPad* pad, GstPadProbeInfo* info, gpointer user_data)
{
    (void)pad;
    Output* o = user_data;
    if (g_atomic_int_get(&o->state) != OUTPUT_RUNNING)
        return GST_PAD_PROBE_DROP;
    if (!(GST_PAD_PROBE_INFO_TYPE(info) &
          (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST)))
        return GST_PAD_PROBE_PASS;
    if (g_atomic_int_get(&o->started))
        return GST_PAD_PROBE_PASS;
    /* an output starts with a keyframe */
    GstBuffer* buffer = GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER
                            ? GST_PAD_PROBE_INFO_BUFFER(info)
                            : gst_buffer_list_get(GST_PAD_PROBE_INFO_BUFFER_LIST(info), 0);
    if (!buffer || GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT))
        return GST_PAD_PROBE_DROP;
    data_went_in(o);
    return GST_PAD_PROBE_PASS;
}

static GstPadProbeReturn audio_probe(GstPad* pad, GstPadProbeInfo* info, gpointer user_data)
{
    (void)pad;
    Output* o = user_data;
    if (g_atomic_int_get(&o->state) != OUTPUT_RUNNING)
        return GST_PAD_PROBE_DROP;
    if (!(GST_PAD_PROBE_INFO_TYPE(info) &
          (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST)))
        return GST_PAD_PROBE_PASS;
    if (o->vtee_pad) {
        /* with video, audio waits for the first keyframe */
        return g_atomic_int_get(&o->started) ? GST_PAD_PROBE_PASS : GST_PAD_PROBE_DROP;
    }
    data_went_in(o);
    return GST_PAD_PROBE_PASS;
}

/* Links `queue ! parser` to the muxer's request pad of `templ_name`. */
static gboolean link_to_mux(GstElement* parser, GstElement* mux, const gchar* templ_name)
{
    GstPad* mux_pad = gst_element_request_pad_simple(mux, templ_name);
    if (!mux_pad)
        return FALSE;
    GstPad* src = gst_element_get_static_pad(parser, "src");
    gboolean ok = gst_pad_link(src, mux_pad) == GST_PAD_LINK_OK;
    gst_object_unref(src);
    gst_object_unref(mux_pad);
    return ok;
}

static void output_remove_async(GstElement* element, gpointer user_data);

/* Builds an output of `kind` at `location` and adds it to the bin, linked to
 * the encoders' tees. Called with no lock held; `live` says the bin is
 * already PAUSED or PLAYING (the branch then follows its state). */
static Output* output_start(GstZumziLiveSink* self, OutputKind kind, const gchar* location,
                            gboolean live, GError** error)
{
    g_mutex_lock(&self->lock);
    gboolean has_video = self->video != NULL;
    gboolean has_audio = self->audio != NULL;
    GstElement* vtee = has_video ? gst_object_ref(self->video->tee) : NULL;
    GstElement* atee = has_audio ? gst_object_ref(self->audio->tee) : NULL;
    gchar* hls_location = g_strdup(self->hls_location);
    guint target_duration = self->target_duration;
    guint playlist_length = self->playlist_length;
    guint max_files = self->max_files;
    g_mutex_unlock(&self->lock);

    Output* o = g_new0(Output, 1);
    o->refcount = 1;
    o->sink = self;
    o->kind = kind;
    o->location = g_strdup(location);
    o->elements = g_ptr_array_new();
    GstElement* mux = NULL;
    GstElement* sink = NULL;
    const gchar* video_pad = "video";
    const gchar* audio_pad = "audio";
    const gchar* missing = NULL;

    if (!has_video && !has_audio) {
        g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                    "zumzilivesink has no input: request its video or audio pad");
        goto fail;
    }

    switch (kind) {
        case KIND_HLS: {
            sink = make(o->elements, "hlssink2", NULL);
            if (!sink) {
                missing = "hlssink2";
                break;
            }
            gchar* segments = NULL;
            if (is_set(hls_location)) {
                segments = g_strdup(hls_location);
            } else {
                gchar* dir = g_path_get_dirname(location);
                segments = g_build_filename(dir, "segment%05d.ts", NULL);
                g_free(dir);
            }
            g_object_set(sink, "location", segments, "playlist-location", location,
                         "target-duration", target_duration, "playlist-length", playlist_length,
                         "max-files", max_files, "async-handling", TRUE, NULL);
            g_free(segments);
            mux = sink;
            break;
        }
        case KIND_RTMP:
            mux = make(o->elements, "flvmux", NULL);
            sink = make(o->elements, "rtmp2sink", NULL);
            if (!mux || !sink) {
                missing = !mux ? "flvmux" : "rtmp2sink";
                break;
            }
            g_object_set(mux, "streamable", TRUE, NULL);
            g_object_set(sink, "location", location, "async", FALSE, NULL);
            GstPad* sink_pad = gst_element_get_static_pad(sink, "sink");
            gst_pad_add_probe(sink_pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                              rtmp_connected_probe, output_ref(o), output_unref);
            gst_object_unref(sink_pad);
            break;
        case KIND_RECORD: {
            const gchar* factory = record_muxer(location);
            if (!factory) {
                g_set_error(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
                            "record-location '%s' has no known container extension: use .mp4, "
                            ".mkv, .ts or .flv",
                            location);
                goto fail;
            }
            mux = make(o->elements, factory, NULL);
            sink = make(o->elements, "filesink", NULL);
            if (!mux || !sink) {
                missing = !mux ? factory : "filesink";
                break;
            }
            if (g_str_equal(factory, "mp4mux")) {
                /* fragments: a crash leaves a playable file; EOS writes the index */
                g_object_set(mux, "fragment-duration", 1000, NULL);
                video_pad = "video_%u";
                audio_pad = "audio_%u";
            } else if (g_str_equal(factory, "matroskamux")) {
                g_object_set(mux, "offset-to-zero", TRUE, NULL);
                video_pad = "video_%u";
                audio_pad = "audio_%u";
            } else if (g_str_equal(factory, "mpegtsmux")) {
                video_pad = "sink_%d";
                audio_pad = "sink_%d";
            } else if (g_str_equal(factory, "flvmux")) {
                /* no keyframe index: ffmpeg misreads flvmux's reserved one */
                g_object_set(mux, "streamable", TRUE, NULL);
            }
            g_object_set(sink, "location", location, "async", FALSE, NULL);
            break;
        }
        default:
            g_assert_not_reached();
    }
    if (missing) {
        g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                    "zumzilivesink: missing element '%s' for the %s output", missing,
                    kind_names[kind]);
        goto fail;
    }
    o->last = sink;

    GstElement *vparse = NULL, *aparse = NULL;
    if (has_video) {
        o->vqueue = make(o->elements, "queue", NULL);
        vparse = make(o->elements, "h264parse", NULL);
        if (!o->vqueue || !vparse) {
            g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                        "zumzilivesink: missing element h264parse");
            goto fail;
        }
        g_object_set(vparse, "config-interval", -1, NULL);
    }
    if (has_audio) {
        o->aqueue = make(o->elements, "queue", NULL);
        aparse = make(o->elements, "aacparse", NULL);
        if (!o->aqueue || !aparse) {
            g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
                        "zumzilivesink: missing element aacparse");
            goto fail;
        }
    }
    for (guint i = 0; i < o->elements->len; i++) {
        GstElement* e = g_ptr_array_index(o->elements, i);
        if (e == o->vqueue || e == o->aqueue) {
            /* encoded data: a few seconds of it */
            g_object_set(e, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
                         (guint64)(kind == KIND_RTMP ? 2 : 5) * GST_SECOND, NULL);
            if (kind == KIND_RTMP)
                gst_util_set_object_arg(G_OBJECT(e), "leaky", "downstream");
        }
        gst_bin_add(GST_BIN(self), e);
    }
    gboolean linked = TRUE;
    if (has_video)
        linked &= gst_element_link(o->vqueue, vparse) && link_to_mux(vparse, mux, video_pad);
    if (has_audio)
        linked &= gst_element_link(o->aqueue, aparse) && link_to_mux(aparse, mux, audio_pad);
    if (mux != sink)
        linked &= gst_element_link(mux, sink);
    if (!linked) {
        g_set_error(error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
                    "zumzilivesink: could not link the %s output", kind_names[kind]);
        for (guint i = 0; i < o->elements->len; i++) {
            GstElement* e = g_ptr_array_index(o->elements, i);
            gst_object_ref(e);
            gst_bin_remove(GST_BIN(self), e);
            gst_element_set_state(e, GST_STATE_NULL);
            gst_object_unref(e);
        }
        g_ptr_array_set_size(o->elements, 0);
        goto fail;
    }
    /* the bin holds the elements from here; in the list before they change
     * state, so that an error they post while starting is the output's */
    g_mutex_lock(&self->lock);
    self->outputs = g_list_append(self->outputs, output_ref(o));
    g_mutex_unlock(&self->lock);
    if (live) {
        for (guint i = o->elements->len; i > 0; i--)
            gst_element_sync_state_with_parent(g_ptr_array_index(o->elements, i - 1));
    }

    if (has_video) {
        o->vtee_pad = gst_element_request_pad_simple(vtee, "src_%u");
        o->vprobe = gst_pad_add_probe(o->vtee_pad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM, video_probe,
                                      output_ref(o), output_unref);
        GstPad* qsink = gst_element_get_static_pad(o->vqueue, "sink");
        gst_pad_link(o->vtee_pad, qsink);
        gst_object_unref(qsink);
        if (live) {
            /* start at a fresh keyframe rather than wait for the next one */
            gst_pad_send_event(o->vtee_pad, gst_video_event_new_upstream_force_key_unit(
                                                GST_CLOCK_TIME_NONE, TRUE, 0));
        }
    }
    if (has_audio) {
        o->atee_pad = gst_element_request_pad_simple(atee, "src_%u");
        o->aprobe = gst_pad_add_probe(o->atee_pad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM, audio_probe,
                                      output_ref(o), output_unref);
        GstPad* qsink = gst_element_get_static_pad(o->aqueue, "sink");
        gst_pad_link(o->atee_pad, qsink);
        gst_object_unref(qsink);
    }
    GST_INFO_OBJECT(self, "%s output to %s", kind_names[kind], location);
    if (!g_atomic_int_compare_and_exchange(&o->state, OUTPUT_STARTING, OUTPUT_RUNNING)) {
        /* it failed while starting (its tee pads drop everything): tell,
         * and take it away as handle_message does for a running one */
        g_mutex_lock(&self->lock);
        gchar* why = g_strdup(o->start_error ? o->start_error : "failed");
        g_mutex_unlock(&self->lock);
        GST_WARNING_OBJECT(self, "the %s output to %s failed as it started: %s", kind_names[kind],
                           location, why);
        post_status(self, o, "error", why);
        g_free(why);
        gst_element_call_async(GST_ELEMENT(self), output_remove_async, output_ref(o),
                               output_unref);
    }
    gst_clear_object(&vtee);
    gst_clear_object(&atee);
    g_free(hls_location);
    return o;

fail:
    for (guint i = 0; i < o->elements->len; i++) {
        GstElement* e = g_ptr_array_index(o->elements, i);
        if (!GST_OBJECT_PARENT(e))
            discard(e);
    }
    g_ptr_array_set_size(o->elements, 0);
    output_unref(o);
    gst_clear_object(&vtee);
    gst_clear_object(&atee);
    g_free(hls_location);
    return NULL;
}

/* Takes an output's branch out of the bin (any thread but its own streaming
 * threads). Safe to call twice: only the call that finds it in the list acts. */
static gboolean output_remove(GstZumziLiveSink* self, Output* o)
{
    g_mutex_lock(&self->lock);
    GList* link = g_list_find(self->outputs, o);
    if (link)
        self->outputs = g_list_delete_link(self->outputs, link);
    g_mutex_unlock(&self->lock);
    if (!link)
        return FALSE;

    GstPad* tee_pads[] = {o->vtee_pad, o->atee_pad};
    gulong probes[] = {o->vprobe, o->aprobe};
    GstElement* queues[] = {o->vqueue, o->aqueue};
    for (guint i = 0; i < 2; i++) {
        if (!tee_pads[i])
            continue;
        /* the probe holds a ref on the output, which holds the pad */
        gst_pad_remove_probe(tee_pads[i], probes[i]);
        GstPad* qsink = gst_element_get_static_pad(queues[i], "sink");
        gst_pad_unlink(tee_pads[i], qsink);
        gst_object_unref(qsink);
        GstElement* tee = gst_pad_get_parent_element(tee_pads[i]);
        if (tee) {
            gst_element_release_request_pad(tee, tee_pads[i]);
            gst_object_unref(tee);
        }
    }
    for (guint i = 0; i < o->elements->len; i++) {
        GstElement* e = g_ptr_array_index(o->elements, i);
        gst_element_set_locked_state(e, TRUE);
        gst_element_set_state(e, GST_STATE_NULL);
        gst_bin_remove(GST_BIN(self), e);
    }
    g_ptr_array_set_size(o->elements, 0);
    output_unref(o);
    return TRUE;
}

static void output_remove_async(GstElement* element, gpointer user_data)
{
    GstZumziLiveSink* self = GST_ZUMZI_LIVE_SINK(element);
    Output* o = user_data;
    gboolean stopped = g_atomic_int_get(&o->state) == OUTPUT_STOPPING;
    if (output_remove(self, o) && stopped)
        post_status(self, o, "stopped", NULL);
}

/* Stops an output: no more data goes in, EOS finalises it, and its branch is
 * removed when the EOS has reached its sink (see handle_message). */
static void output_stop(GstZumziLiveSink* self, Output* o)
{
    if (!g_atomic_int_compare_and_exchange(&o->state, OUTPUT_RUNNING, OUTPUT_STOPPING))
        return;
    GST_INFO_OBJECT(self, "stopping the %s output to %s", kind_names[o->kind], o->location);
    GstElement* queues[] = {o->vqueue, o->aqueue};
    for (guint i = 0; i < 2; i++) {
        if (!queues[i])
            continue;
        GstPad* qsink = gst_element_get_static_pad(queues[i], "sink");
        gst_pad_send_event(qsink, gst_event_new_eos());
        gst_object_unref(qsink);
    }
}

/* The running (not stopping, not failed) output of `kind`, with a ref. */
static Output* find_running_locked(GstZumziLiveSink* self, OutputKind kind)
{
    for (GList* l = self->outputs; l; l = l->next) {
        Output* o = l->data;
        if (o->kind == kind && g_atomic_int_get(&o->state) == OUTPUT_RUNNING)
            return output_ref(o);
    }
    return NULL;
}

/* The output that contains `object` (an element of its branch or a child of
 * one), with a ref. */
static Output* find_output_of_locked(GstZumziLiveSink* self, GstObject* object)
{
    for (GList* l = self->outputs; l; l = l->next) {
        Output* o = l->data;
        for (guint i = 0; i < o->elements->len; i++) {
            GstObject* e = g_ptr_array_index(o->elements, i);
            if (object == e || gst_object_has_as_ancestor(object, e))
                return output_ref(o);
        }
    }
    return NULL;
}

static const gchar* kind_location_locked(GstZumziLiveSink* self, OutputKind kind)
{
    switch (kind) {
        case KIND_HLS:
            return self->hls_playlist_location;
        case KIND_RTMP:
            return self->rtmp_location;
        case KIND_RECORD:
            return self->record_location;
        default:
            return NULL;
    }
}

/* A location property changed while outputs exist: stop the old output of
 * that kind and start the new one. */
static void location_changed(GstZumziLiveSink* self, OutputKind kind)
{
    g_mutex_lock(&self->lock);
    if (!self->running) {
        g_mutex_unlock(&self->lock);
        return;
    }
    Output* old = find_running_locked(self, kind);
    gchar* location = g_strdup(kind_location_locked(self, kind));
    g_mutex_unlock(&self->lock);

    if (old) {
        output_stop(self, old);
        output_unref(old);
    }
    if (is_set(location)) {
        GError* error = NULL;
        Output* o = output_start(self, kind, location, TRUE, &error);
        if (o) {
            output_unref(o);
        } else {
            GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("%s", error->message),
                                ("the %s output was not started", kind_names[kind]));
            g_error_free(error);
        }
    }
    g_free(location);
}

static gboolean start_outputs(GstZumziLiveSink* self)
{
    g_mutex_lock(&self->lock);
    gchar* locations[N_KINDS];
    for (guint k = 0; k < N_KINDS; k++)
        locations[k] = g_strdup(kind_location_locked(self, k));
    gboolean has_hls_segments = is_set(self->hls_location);
    g_mutex_unlock(&self->lock);

    if (has_hls_segments && !is_set(locations[KIND_HLS]))
        GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS,
                            ("hls-location is set but hls-playlist-location is not"),
                            ("HLS runs when hls-playlist-location is set"));

    gboolean ok = TRUE;
    for (guint k = 0; k < N_KINDS && ok; k++) {
        if (!is_set(locations[k]))
            continue;
        GError* error = NULL;
        Output* o = output_start(self, k, locations[k], FALSE, &error);
        if (o) {
            output_unref(o);
        } else {
            GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", error->message), (NULL));
            g_error_free(error);
            ok = FALSE;
        }
    }
    for (guint k = 0; k < N_KINDS; k++)
        g_free(locations[k]);
    return ok;
}

static void remove_all_outputs(GstZumziLiveSink* self)
{
    for (;;) {
        g_mutex_lock(&self->lock);
        Output* o = self->outputs ? output_ref(self->outputs->data) : NULL;
        g_mutex_unlock(&self->lock);
        if (!o)
            break;
        output_remove(self, o);
        output_unref(o);
    }
}

/* ---------------------------------------------------------------- encoders */

/* The encoder's bitrate from the input size when `bitrate` is 0 (x264enc
 * takes a new bitrate while playing). */
static GstPadProbeReturn video_caps_probe(GstPad* pad, GstPadProbeInfo* info, gpointer user_data)
{
    (void)pad;
    GstZumziLiveSink* self = user_data;
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
        return GST_PAD_PROBE_PASS;
    GstCaps* caps;
    gst_event_parse_caps(event, &caps);
    GstVideoInfo vinfo;
    if (!gst_video_info_from_caps(&vinfo, caps))
        return GST_PAD_PROBE_PASS;
    gdouble fps = vinfo.fps_n > 0 && vinfo.fps_d > 0 ? (gdouble)vinfo.fps_n / vinfo.fps_d : 30.0;
    g_mutex_lock(&self->lock);
    guint bitrate = self->bitrate;
    GstElement* encoder = self->video ? gst_object_ref(self->video->encoder) : NULL;
    g_mutex_unlock(&self->lock);
    if (!encoder)
        return GST_PAD_PROBE_PASS;
    if (bitrate == 0)
        bitrate = gst_zumzi_preset_kbps_for(vinfo.width, vinfo.height, fps);
    GST_INFO_OBJECT(self, "encoding %dx%d at %.2f fps: %u kbit/s", vinfo.width, vinfo.height, fps,
                    bitrate);
    g_object_set(encoder, "bitrate", bitrate, NULL);
    gst_object_unref(encoder);
    return GST_PAD_PROBE_PASS;
}

/* A keyframe every 2 s of stream time, or every half HLS segment when that
 * is shorter. Segments are then cut on time even when a keyframe request of
 * hlssink2 comes late (as with an encoder running ahead of a non-live
 * source), and they are listed sooner: hlssink2's splitmuxsink holds a
 * whole GOP before it decides which segment it goes to, so a segment is
 * listed one GOP after its end (a GOP of a whole segment made the newest
 * frame of the playlist 2 segments old, half a segment makes it 1.5). x264enc's key-int-max cannot change once it runs and depends
 * on the frame rate; a force-key-unit event before the frame does neither. */
static GstPadProbeReturn video_keyframe_probe(GstPad* pad, GstPadProbeInfo* info,
                                              gpointer user_data)
{
    GstZumziLiveSink* self = user_data;
    GstClockTime pts = GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info));
    if (!GST_CLOCK_TIME_IS_VALID(pts))
        return GST_PAD_PROBE_OK;
    g_mutex_lock(&self->lock);
    GstClockTime gop = 2 * GST_SECOND;
    if (is_set(self->hls_playlist_location))
        gop = MIN(gop, self->target_duration * GST_SECOND / 2);
    gboolean force = FALSE;
    if (!GST_CLOCK_TIME_IS_VALID(self->next_keyframe) || pts >= self->next_keyframe ||
        pts + gop < self->next_keyframe) {
        force = GST_CLOCK_TIME_IS_VALID(self->next_keyframe);
        self->next_keyframe = pts + gop;
    }
    g_mutex_unlock(&self->lock);
    if (force) {
        /* serialized, before this buffer: the stream lock is ours already */
        gst_pad_send_event(
            pad, gst_video_event_new_downstream_force_key_unit(
                     GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, TRUE, 0));
    }
    return GST_PAD_PROBE_OK;
}

static void stream_free(GstZumziLiveSink* self, Stream* s)
{
    if (!s)
        return;
    for (guint i = 0; i < s->elements->len; i++) {
        GstElement* e = g_ptr_array_index(s->elements, i);
        gst_element_set_state(e, GST_STATE_NULL);
        gst_bin_remove(GST_BIN(self), e);
    }
    g_ptr_array_unref(s->elements);
    g_free(s);
}

/* queue ! videoconvert ! x264enc ! tee, or queue ! audioconvert !
 * audioresample ! capsfilter ! AAC encoder ! tee; the tee feeds a fakesink
 * and every output. */
static Stream* stream_new(GstZumziLiveSink* self, gboolean video, GstPadTemplate* templ)
{
    Stream* s = g_new0(Stream, 1);
    s->elements = g_ptr_array_new();
    const gchar* prefix = video ? "video" : "audio";
    gchar name[64];
    const gchar* missing = NULL;
    GstElement* queue;

#define MAKE(var, factory, what)                              \
    do {                                                      \
        g_snprintf(name, sizeof name, "%s-%s", prefix, what); \
        var = make(s->elements, factory, name);               \
        if (!var && !missing)                                 \
            missing = factory;                                \
    } while (0)

    MAKE(queue, "queue", "queue");
    s->first = queue;
    if (video) {
        GstElement *convert, *caps;
        MAKE(convert, "videoconvert", "convert");
        MAKE(caps, "capsfilter", "format");
        MAKE(s->encoder, "x264enc", "encoder");
        if (!missing) {
            GstCaps* c = gst_caps_from_string("video/x-raw, format=(string)I420");
            g_object_set(caps, "caps", c, NULL);
            gst_caps_unref(c);
            gst_util_set_object_arg(G_OBJECT(s->encoder), "tune", "zerolatency");
            g_mutex_lock(&self->lock);
            apply_speed_preset(s->encoder, self->speed_preset);
            g_mutex_unlock(&self->lock);
        }
    } else {
        GstElement *convert, *resample, *caps;
        MAKE(convert, "audioconvert", "convert");
        MAKE(resample, "audioresample", "resample");
        MAKE(caps, "capsfilter", "format");
        const gchar* aac = aac_encoder_factory();
        if (aac)
            MAKE(s->encoder, aac, "encoder");
        else
            missing = "avenc_aac";
        if (!missing) {
            GstCaps* c = gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, AUDIO_RATE,
                                             "channels", G_TYPE_INT, 2, NULL);
            g_object_set(caps, "caps", c, NULL);
            gst_caps_unref(c);
            g_mutex_lock(&self->lock);
            g_object_set(s->encoder, "bitrate", (gint)self->audio_bitrate, NULL);
            g_mutex_unlock(&self->lock);
        }
    }
    MAKE(s->tee, "tee", "tee");
    MAKE(s->fakesink, "fakesink", "fakesink");
#undef MAKE
    if (missing) {
        GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("Missing element '%s'", missing),
                          ("zumzilivesink needs x264enc (gst-plugins-ugly), avenc_aac "
                           "(gst-libav) or voaacenc, and gst-plugins-base/good/bad"));
        for (guint i = 0; i < s->elements->len; i++)
            discard(g_ptr_array_index(s->elements, i));
        g_ptr_array_unref(s->elements);
        g_free(s);
        return NULL;
    }
    g_object_set(s->tee, "allow-not-linked", TRUE, NULL);
    g_object_set(s->fakesink, "sync", FALSE, "async", FALSE, NULL);
    for (guint i = 0; i < s->elements->len; i++)
        gst_bin_add(GST_BIN(self), g_ptr_array_index(s->elements, i));
    /* everything but the fakesink in a chain, the fakesink off the tee */
    for (guint i = 0; i + 2 < s->elements->len; i++)
        gst_element_link(g_ptr_array_index(s->elements, i), g_ptr_array_index(s->elements, i + 1));
    gst_element_link(s->tee, s->fakesink);

    if (video) {
        GstPad* enc_sink = gst_element_get_static_pad(s->encoder, "sink");
        gst_pad_add_probe(enc_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, video_caps_probe, self,
                          NULL);
        gst_pad_add_probe(enc_sink, GST_PAD_PROBE_TYPE_BUFFER, video_keyframe_probe, self, NULL);
        gst_object_unref(enc_sink);
    }

    GstPad* target = gst_element_get_static_pad(queue, "sink");
    s->ghost = gst_ghost_pad_new_from_template(prefix, target, templ);
    gst_object_unref(target);
    for (guint i = s->elements->len; i > 0; i--)
        gst_element_sync_state_with_parent(g_ptr_array_index(s->elements, i - 1));
    return s;
}

static GstPad* gst_zumzi_live_sink_request_new_pad(GstElement* element, GstPadTemplate* templ,
                                                   const gchar* req_name, const GstCaps* caps)
{
    (void)req_name;
    (void)caps;
    GstZumziLiveSink* self = GST_ZUMZI_LIVE_SINK(element);
    gboolean video = g_str_equal(GST_PAD_TEMPLATE_NAME_TEMPLATE(templ), "video");

    g_mutex_lock(&self->lock);
    Stream* existing = video ? self->video : self->audio;
    gboolean running = self->running;
    g_mutex_unlock(&self->lock);
    if (existing) {
        GST_WARNING_OBJECT(self, "the %s pad exists already", video ? "video" : "audio");
        return NULL;
    }
    if (running || GST_STATE(self) > GST_STATE_READY) {
        GST_WARNING_OBJECT(self, "pads can only be requested in the NULL or READY state");
        return NULL;
    }
    Stream* s = stream_new(self, video, templ);
    if (!s)
        return NULL;
    g_mutex_lock(&self->lock);
    if (video)
        self->video = s;
    else
        self->audio = s;
    g_mutex_unlock(&self->lock);
    gst_element_add_pad(element, s->ghost);
    return s->ghost;
}

static void gst_zumzi_live_sink_release_pad(GstElement* element, GstPad* pad)
{
    GstZumziLiveSink* self = GST_ZUMZI_LIVE_SINK(element);
    g_mutex_lock(&self->lock);
    Stream* s = NULL;
    if (self->video && self->video->ghost == pad) {
        s = self->video;
        self->video = NULL;
    } else if (self->audio && self->audio->ghost == pad) {
        s = self->audio;
        self->audio = NULL;
    }
    g_mutex_unlock(&self->lock);
    if (!s)
        return;
    gst_pad_set_active(pad, FALSE);
    gst_element_remove_pad(element, pad);
    stream_free(self, s);
}

/* ---------------------------------------------------------------- bin */

static void gst_zumzi_live_sink_handle_message(GstBin* bin, GstMessage* message)
{
    GstZumziLiveSink* self = GST_ZUMZI_LIVE_SINK(bin);

    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS) {
        g_mutex_lock(&self->lock);
        Output* o = find_output_of_locked(self, GST_MESSAGE_SRC(message));
        g_mutex_unlock(&self->lock);
        if (o && GST_MESSAGE_SRC(message) == GST_OBJECT(o->last) &&
            g_atomic_int_get(&o->state) == OUTPUT_STOPPING) {
            /* a stopped output is finalised: take it away (not from its own
             * streaming thread) */
            GST_INFO_OBJECT(self, "the %s output to %s is finalised", kind_names[o->kind],
                            o->location);
            gst_element_call_async(GST_ELEMENT(self), output_remove_async, o, output_unref);
            gst_message_unref(message);
            return;
        }
        if (o)
            output_unref(o);
    } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
        g_mutex_lock(&self->lock);
        Output* o = find_output_of_locked(self, GST_MESSAGE_SRC(message));
        gboolean others_running = FALSE;
        for (GList* l = self->outputs; l; l = l->next) {
            Output* other = l->data;
            if (other != o && g_atomic_int_get(&other->state) == OUTPUT_RUNNING)
                others_running = TRUE;
        }
        g_mutex_unlock(&self->lock);
        if (o) {
            GError* error = NULL;
            gchar* debug = NULL;
            gst_message_parse_error(message, &error, &debug);
            gint was = g_atomic_int_get(&o->state);
            g_atomic_int_set(&o->state, OUTPUT_FAILED);
            if (was == OUTPUT_STARTING) {
                /* output_start tells once the output is built */
                g_mutex_lock(&self->lock);
                if (!o->start_error)
                    o->start_error = g_strdup(error->message);
                g_mutex_unlock(&self->lock);
            } else if (was != OUTPUT_FAILED) {
                GST_WARNING_OBJECT(self, "the %s output to %s failed: %s", kind_names[o->kind],
                                   o->location, error->message);
                post_status(self, o, "error", error->message);
                gst_element_call_async(GST_ELEMENT(self), output_remove_async, output_ref(o),
                                       output_unref);
            }
            output_unref(o);
            if (others_running || was == OUTPUT_FAILED) {
                /* the other outputs go on: tell, but do not stop the pipeline */
                if (was != OUTPUT_FAILED) {
                    GstMessage* warning =
                        gst_message_new_warning(GST_MESSAGE_SRC(message), error, debug);
                    GST_BIN_CLASS(parent_class)->handle_message(bin, warning);
                }
                g_error_free(error);
                g_free(debug);
                gst_message_unref(message);
                return;
            }
            g_error_free(error);
            g_free(debug);
        }
    }
    GST_BIN_CLASS(parent_class)->handle_message(bin, message);
}

static GstStateChangeReturn gst_zumzi_live_sink_change_state(GstElement* element,
                                                             GstStateChange transition)
{
    GstZumziLiveSink* self = GST_ZUMZI_LIVE_SINK(element);

    if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
        g_mutex_lock(&self->lock);
        self->running = TRUE;
        self->next_keyframe = GST_CLOCK_TIME_NONE;
        g_mutex_unlock(&self->lock);
        if (!start_outputs(self)) {
            remove_all_outputs(self);
            g_mutex_lock(&self->lock);
            self->running = FALSE;
            g_mutex_unlock(&self->lock);
            return GST_STATE_CHANGE_FAILURE;
        }
    }

    GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);

    if (transition == GST_STATE_CHANGE_PAUSED_TO_READY ||
        (transition == GST_STATE_CHANGE_READY_TO_PAUSED && ret == GST_STATE_CHANGE_FAILURE)) {
        g_mutex_lock(&self->lock);
        self->running = FALSE;
        g_mutex_unlock(&self->lock);
        remove_all_outputs(self);
    }
    return ret;
}

/* ---------------------------------------------------------------- properties */

static void gst_zumzi_live_sink_set_property(GObject* object, guint prop_id, const GValue* value,
                                             GParamSpec* pspec)
{
    GstZumziLiveSink* self = GST_ZUMZI_LIVE_SINK(object);
    gint changed = -1;
    g_mutex_lock(&self->lock);
    switch (prop_id) {
        case PROP_HLS_LOCATION:
            g_free(self->hls_location);
            self->hls_location = g_value_dup_string(value);
            break;
        case PROP_HLS_PLAYLIST_LOCATION:
            g_free(self->hls_playlist_location);
            self->hls_playlist_location = g_value_dup_string(value);
            changed = KIND_HLS;
            break;
        case PROP_TARGET_DURATION:
            self->target_duration = g_value_get_uint(value);
            break;
        case PROP_PLAYLIST_LENGTH:
            self->playlist_length = g_value_get_uint(value);
            break;
        case PROP_MAX_FILES:
            self->max_files = g_value_get_uint(value);
            break;
        case PROP_RTMP_LOCATION:
            g_free(self->rtmp_location);
            self->rtmp_location = g_value_dup_string(value);
            changed = KIND_RTMP;
            break;
        case PROP_RECORD_LOCATION:
            g_free(self->record_location);
            self->record_location = g_value_dup_string(value);
            changed = KIND_RECORD;
            break;
        case PROP_BITRATE:
            self->bitrate = g_value_get_uint(value);
            if (self->bitrate && self->video)
                g_object_set(self->video->encoder, "bitrate", self->bitrate, NULL);
            break;
        case PROP_AUDIO_BITRATE:
            self->audio_bitrate = g_value_get_uint(value);
            break;
        case PROP_SPEED_PRESET:
            self->speed_preset = g_value_get_enum(value);
            if (self->video)
                apply_speed_preset(self->video->encoder, self->speed_preset);
            break;
        default:
            G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
            break;
    }
    g_mutex_unlock(&self->lock);
    if (changed >= 0)
        location_changed(self, (OutputKind)changed);
}

static void gst_zumzi_live_sink_get_property(GObject* object, guint prop_id, GValue* value,
                                             GParamSpec* pspec)
{
    GstZumziLiveSink* self = GST_ZUMZI_LIVE_SINK(object);
    g_mutex_lock(&self->lock);
    switch (prop_id) {
        case PROP_HLS_LOCATION:
            g_value_set_string(value, self->hls_location);
            break;
        case PROP_HLS_PLAYLIST_LOCATION:
            g_value_set_string(value, self->hls_playlist_location);
            break;
        case PROP_TARGET_DURATION:
            g_value_set_uint(value, self->target_duration);
            break;
        case PROP_PLAYLIST_LENGTH:
            g_value_set_uint(value, self->playlist_length);
            break;
        case PROP_MAX_FILES:
            g_value_set_uint(value, self->max_files);
            break;
        case PROP_RTMP_LOCATION:
            g_value_set_string(value, self->rtmp_location);
            break;
        case PROP_RECORD_LOCATION:
            g_value_set_string(value, self->record_location);
            break;
        case PROP_BITRATE:
            g_value_set_uint(value, self->bitrate);
            break;
        case PROP_AUDIO_BITRATE:
            g_value_set_uint(value, self->audio_bitrate);
            break;
        case PROP_SPEED_PRESET:
            g_value_set_enum(value, self->speed_preset);
            break;
        default:
            G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
            break;
    }
    g_mutex_unlock(&self->lock);
}

/* Releases the video and audio pads while their encoders still exist. */
static void gst_zumzi_live_sink_dispose(GObject* object)
{
    GstZumziLiveSink* self = GST_ZUMZI_LIVE_SINK(object);
    for (;;) {
        g_mutex_lock(&self->lock);
        Stream* s = self->video ? self->video : self->audio;
        GstPad* pad = s ? gst_object_ref(s->ghost) : NULL;
        g_mutex_unlock(&self->lock);
        if (!pad)
            break;
        gst_element_release_request_pad(GST_ELEMENT(self), pad);
        gst_object_unref(pad);
    }
    G_OBJECT_CLASS(parent_class)->dispose(object);
}

static void gst_zumzi_live_sink_finalize(GObject* object)
{
    GstZumziLiveSink* self = GST_ZUMZI_LIVE_SINK(object);
    g_free(self->hls_location);
    g_free(self->hls_playlist_location);
    g_free(self->rtmp_location);
    g_free(self->record_location);
    g_list_free_full(self->outputs, output_unref);
    g_mutex_clear(&self->lock);
    G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_zumzi_live_sink_class_init(GstZumziLiveSinkClass* klass)
{
    GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
    GstBinClass* bin_class = GST_BIN_CLASS(klass);

    gobject_class->set_property = gst_zumzi_live_sink_set_property;
    gobject_class->get_property = gst_zumzi_live_sink_get_property;
    gobject_class->dispose = gst_zumzi_live_sink_dispose;
    gobject_class->finalize = gst_zumzi_live_sink_finalize;

    const GParamFlags rw_playing =
        G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS;
    const GParamFlags rw_ready =
        G_PARAM_READWRITE | GST_PARAM_MUTABLE_READY | G_PARAM_STATIC_STRINGS;

    g_object_class_install_property(
        gobject_class, PROP_HLS_PLAYLIST_LOCATION,
        g_param_spec_string("hls-playlist-location", "HLS playlist location",
                            "Where to write the HLS playlist (e.g. live/index.m3u8); setting it "
                            "starts the HLS output, clearing it stops it",
                            NULL, rw_playing));
    g_object_class_install_property(
        gobject_class, PROP_HLS_LOCATION,
        g_param_spec_string("hls-location", "HLS segment location",
                            "printf pattern of the HLS segment files; default: "
                            "segment%05d.ts next to the playlist (read when HLS starts)",
                            NULL, rw_playing));
    g_object_class_install_property(
        gobject_class, PROP_TARGET_DURATION,
        g_param_spec_uint("target-duration", "Target duration",
                          "HLS segment duration in seconds (read when HLS starts)", 1, 3600,
                          DEFAULT_TARGET_DURATION, rw_playing));
    g_object_class_install_property(
        gobject_class, PROP_PLAYLIST_LENGTH,
        g_param_spec_uint("playlist-length", "Playlist length",
                          "Number of segments in the HLS playlist; 0 keeps them all (read "
                          "when HLS starts)",
                          0, G_MAXUINT, DEFAULT_PLAYLIST_LENGTH, rw_playing));
    g_object_class_install_property(
        gobject_class, PROP_MAX_FILES,
        g_param_spec_uint("max-files", "Max files",
                          "Number of HLS segment files kept on disk, older ones are deleted; "
                          "0 keeps them all (read when HLS starts)",
                          0, G_MAXUINT, DEFAULT_MAX_FILES, rw_playing));
    g_object_class_install_property(
        gobject_class, PROP_RTMP_LOCATION,
        g_param_spec_string("rtmp-location", "RTMP location",
                            "RTMP URL to push to (rtmp://host/app/stream); setting it starts "
                            "the RTMP output, clearing it stops it",
                            NULL, rw_playing));
    g_object_class_install_property(
        gobject_class, PROP_RECORD_LOCATION,
        g_param_spec_string("record-location", "Recording location",
                            "File to record to; .mp4/.m4v/.mov (fragmented MP4), .mkv, .ts or "
                            ".flv picks the container. Setting it starts a recording, clearing "
                            "or changing it finalises the current one",
                            NULL, rw_playing));
    g_object_class_install_property(
        gobject_class, PROP_BITRATE,
        g_param_spec_uint("bitrate", "Video bitrate",
                          "H.264 bitrate in kbit/s; 0 takes the bitrate of the room preset "
                          "nearest the input size (hd: 2000, fhd: 4000, ...) scaled by the "
                          "frame rate",
                          0, 2048000, DEFAULT_BITRATE, rw_playing));
    g_object_class_install_property(
        gobject_class, PROP_AUDIO_BITRATE,
        g_param_spec_uint("audio-bitrate", "Audio bitrate", "AAC bitrate in bit/s", 16000, 512000,
                          DEFAULT_AUDIO_BITRATE, rw_ready));
    g_object_class_install_property(
        gobject_class, PROP_SPEED_PRESET,
        g_param_spec_enum("speed-preset", "Speed preset",
                          "x264's speed preset: slower ones give a better picture at the same "
                          "bitrate for more CPU",
                          GST_TYPE_ZUMZI_SPEED_PRESET, DEFAULT_SPEED_PRESET, rw_ready));

    gst_element_class_add_static_pad_template(element_class, &video_template);
    gst_element_class_add_static_pad_template(element_class, &audio_template);

    gst_element_class_set_static_metadata(
        element_class, "Zumzi live sink", "Sink/Bin/Network/File",
        "Encodes raw video and audio once (H.264, AAC) and sends them to HLS, RTMP and a "
        "recording at the same time; outputs start and stop while playing",
        "Zumzi");

    element_class->request_new_pad = GST_DEBUG_FUNCPTR(gst_zumzi_live_sink_request_new_pad);
    element_class->release_pad = GST_DEBUG_FUNCPTR(gst_zumzi_live_sink_release_pad);
    element_class->change_state = GST_DEBUG_FUNCPTR(gst_zumzi_live_sink_change_state);
    bin_class->handle_message = GST_DEBUG_FUNCPTR(gst_zumzi_live_sink_handle_message);

    gst_type_mark_as_plugin_api(GST_TYPE_ZUMZI_SPEED_PRESET, 0);
    GST_DEBUG_CATEGORY_INIT(gst_zumzi_live_sink_debug, "zumzilivesink", 0, "Zumzi live sink");
}

static void gst_zumzi_live_sink_init(GstZumziLiveSink* self)
{
    g_mutex_init(&self->lock);
    self->target_duration = DEFAULT_TARGET_DURATION;
    self->playlist_length = DEFAULT_PLAYLIST_LENGTH;
    self->max_files = DEFAULT_MAX_FILES;
    self->bitrate = DEFAULT_BITRATE;
    self->audio_bitrate = DEFAULT_AUDIO_BITRATE;
    self->speed_preset = DEFAULT_SPEED_PRESET;
    self->next_keyframe = GST_CLOCK_TIME_NONE;
}
