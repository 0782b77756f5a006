/**
 * SECTION:element-zumzispeaker
 * @title: zumzispeaker
 *
 * Active speaker detection over any number of audio streams. Each requested
 * `sink_%u` pad gets a matching `src_%u` pad; audio passes through unchanged
 * (a `level` element per stream measures it). Every `interval` the element
 * compares the streams' RMS levels; when the loudest stream above
 * `threshold` differs from the current speaker and has stayed the loudest
 * for `hold-time` (in running time, so the decision does not depend on
 * scheduling), it becomes the speaker and the element posts an element
 * message on the bus:
 *
 * ```
 * zumzi-speaker, pad=(string)sink_1, index=(uint)1, level-db=(double)-12.5,
 *     peak-db=(double)-6.1, running-time=(guint64)1500000000,
 *     previous=(string)sink_0
 * ```
 *
 * `pad` and `index` name the new speaker's sink pad, `level-db` and
 * `peak-db` are its RMS and peak level (dBFS, loudest channel) over the last
 * interval, `running-time` is the end of that interval, and `previous` is
 * the former speaker's pad ("" for the first). During silence (nobody above
 * the threshold) the speaker stays as it is. When the speaker's pad is
 * released, the next loudest takes over after the hold time. With
 * `post-levels`, every measurement is also posted as `zumzi-level,
 * pad=(string), index=(uint), level-db=(double), peak-db=(double),
 * running-time=(guint64)`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m zumzispeaker name=spk \
 *     audiotestsrc is-live=true volume=0.05 ! spk.sink_0 spk.src_0 ! fakesink \
 *     audiotestsrc is-live=true volume=0.8 ! spk.sink_1 spk.src_1 ! fakesink
 * ]|
 */
#include "gstzumzispeaker.h"

#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(gst_zumzi_speaker_debug);
#define GST_CAT_DEFAULT gst_zumzi_speaker_debug

#define DEFAULT_THRESHOLD -50.0
#define DEFAULT_HOLD_TIME (1 * GST_SECOND)
#define DEFAULT_INTERVAL (100 * GST_MSECOND)
#define DEFAULT_POST_LEVELS FALSE
/* a stream with no measurement for this many intervals is out of the race */
#define STALE_INTERVALS 5

struct _GstZumziSpeakerPad {
    GstZumziSinkPad parent;
    guint index;
    GstElement* level;
    GstPad* srcpad; /* the matching src_%u ghost pad */
    /* the last measurement; speaker lock */
    gboolean measured;
    gdouble level_db;
    gdouble peak_db;
    GstClockTime time;
};

G_DEFINE_TYPE(GstZumziSpeakerPad, gst_zumzi_speaker_pad, GST_TYPE_ZUMZI_SINK_PAD)

static void gst_zumzi_speaker_pad_class_init(GstZumziSpeakerPadClass* klass)
{
    (void)klass;
}

static void gst_zumzi_speaker_pad_init(GstZumziSpeakerPad* pad)
{
    pad->time = GST_CLOCK_TIME_NONE;
}

struct _GstZumziSpeaker {
    GstBin parent;

    GMutex lock; /* everything below */
    gdouble threshold;
    GstClockTime hold_time;
    GstClockTime interval;
    gboolean post_levels;
    GList* pads; /* GstZumziSpeakerPad*, by index */
    guint next_index;
    GstZumziSpeakerPad* current; /* the speaker, or NULL */
    GstZumziSpeakerPad* pending; /* loudest since pending_since, not yet held */
    GstClockTime pending_since;
};

enum {
    PROP_0,
    PROP_THRESHOLD,
    PROP_HOLD_TIME,
    PROP_INTERVAL,
    PROP_POST_LEVELS,
    PROP_SPEAKER,
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink_%u", GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS("audio/x-raw, format=(string){ S8, S16LE, S32LE, F32LE, F64LE }, "
                    "layout=(string)interleaved, rate=(int)[1, MAX], channels=(int)[1, MAX]"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS("audio/x-raw, format=(string){ S8, S16LE, S32LE, F32LE, F64LE }, "
                    "layout=(string)interleaved, rate=(int)[1, MAX], channels=(int)[1, MAX]"));

#define gst_zumzi_speaker_parent_class parent_class
G_DEFINE_TYPE(GstZumziSpeaker, gst_zumzi_speaker, GST_TYPE_BIN)
GST_ELEMENT_REGISTER_DEFINE(zumzispeaker, "zumzispeaker", GST_RANK_NONE, GST_TYPE_ZUMZI_SPEAKER)

static GstPad* gst_zumzi_speaker_request_new_pad(GstElement* element, GstPadTemplate* templ,
                                                 const gchar* req_name, const GstCaps* caps)
{
    (void)caps;
    GstZumziSpeaker* self = GST_ZUMZI_SPEAKER(element);
    guint index;

    g_mutex_lock(&self->lock);
    if (req_name && !g_str_has_suffix(req_name, "%u")) {
        gchar* end = NULL;
        guint64 v = 0;
        gboolean ok = g_str_has_prefix(req_name, "sink_") && g_ascii_isdigit(req_name[5]);
        if (ok) {
            v = g_ascii_strtoull(req_name + 5, &end, 10);
            ok = *end == '\0' && v <= G_MAXUINT16;
        }
        for (GList* l = self->pads; ok && l; l = l->next)
            ok = ((GstZumziSpeakerPad*)l->data)->index != v;
        if (!ok) {
            g_mutex_unlock(&self->lock);
            GST_WARNING_OBJECT(self, "bad or taken pad name '%s'", req_name);
            return NULL;
        }
        index = (guint)v;
    } else {
        index = self->next_index;
    }
    self->next_index = MAX(self->next_index, index + 1);
    GstClockTime interval = self->interval;
    g_mutex_unlock(&self->lock);

    gchar* name = g_strdup_printf("level_%u", index);
    GstElement* level = gst_element_factory_make("level", name);
    g_free(name);
    if (!level) {
        GST_ELEMENT_ERROR(self, CORE, MISSING_PLUGIN, ("Missing element 'level'"),
                          ("zumzispeaker needs level (gst-plugins-good)"));
        return NULL;
    }
    g_object_set(level, "interval", (guint64)interval, "post-messages", TRUE, NULL);

    name = g_strdup_printf("sink_%u", index);
    GstZumziSpeakerPad* pad = g_object_new(GST_TYPE_ZUMZI_SPEAKER_PAD, "name", name, "direction",
                                           GST_PAD_SINK, "template", templ, NULL);
    g_free(name);
    pad->index = index;
    pad->level = level;
    gst_bin_add(GST_BIN(self), level);

    GstPad* target = gst_element_get_static_pad(level, "sink");
    gst_ghost_pad_set_target(GST_GHOST_PAD(pad), target);
    gst_object_unref(target);

    name = g_strdup_printf("src_%u", index);
    target = gst_element_get_static_pad(level, "src");
    GstPadTemplate* src_templ =
        gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(self), "src_%u");
    pad->srcpad = gst_ghost_pad_new_from_template(name, target, src_templ);
    gst_object_unref(target);
    g_free(name);

    g_mutex_lock(&self->lock);
    self->pads = g_list_append(self->pads, pad);
    g_mutex_unlock(&self->lock);

    gst_element_sync_state_with_parent(level);
    if (GST_STATE(self) > GST_STATE_READY)
        gst_pad_set_active(pad->srcpad, TRUE);
    gst_element_add_pad(element, pad->srcpad);
    gst_element_add_pad(element, GST_PAD(pad));
    return GST_PAD(pad);
}

static void gst_zumzi_speaker_release_pad(GstElement* element, GstPad* pad)
{
    GstZumziSpeaker* self = GST_ZUMZI_SPEAKER(element);
    if (!GST_IS_ZUMZI_SPEAKER_PAD(pad))
        return;
    GstZumziSpeakerPad* spad = GST_ZUMZI_SPEAKER_PAD(pad);

    g_mutex_lock(&self->lock);
    GList* link = g_list_find(self->pads, spad);
    if (link)
        self->pads = g_list_delete_link(self->pads, link);
    if (self->current == spad)
        self->current = NULL;
    if (self->pending == spad)
        self->pending = NULL;
    g_mutex_unlock(&self->lock);
    if (!link)
        return;

    gst_zumzi_sink_pad_begin_release(GST_ZUMZI_SINK_PAD(pad));
    GstPad* level_src = gst_element_get_static_pad(spad->level, "src");
    gst_zumzi_sink_pad_drop_at(level_src);
    gst_object_unref(level_src);

    gst_pad_set_active(spad->srcpad, FALSE);
    gst_element_remove_pad(element, spad->srcpad);
    spad->srcpad = NULL;

    GstElement* elements[] = {spad->level, NULL};
    gst_zumzi_sink_pad_remove_branch(GST_ZUMZI_SINK_PAD(pad), GST_BIN(self), elements);
}

/* The largest double in a level message's per-channel array. */
static gboolean max_of_channels(const GstStructure* s, const gchar* field, gdouble* out)
{
    const GValue* v = gst_structure_get_value(s, field);
    if (!v)
        return FALSE;
    gboolean found = FALSE;
    gdouble best = -INFINITY;
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    if (G_VALUE_HOLDS(v, g_value_array_get_type())) {
        GValueArray* arr = g_value_get_boxed(v);
        for (guint i = 0; arr && i < arr->n_values; i++) {
            gdouble d = g_value_get_double(g_value_array_get_nth(arr, i));
            if (!found || d > best)
                best = d;
            found = TRUE;
        }
    }
    G_GNUC_END_IGNORE_DEPRECATIONS
    if (found)
        *out = isfinite(best) ? best : -700.0; /* silence is -inf */
    return found;
}

static GstMessage* level_message(GstZumziSpeaker* self, GstZumziSpeakerPad* pad)
{
    return gst_message_new_element(
        GST_OBJECT(self),
        gst_structure_new("zumzi-level", "pad", G_TYPE_STRING, GST_PAD_NAME(pad), "index",
                          G_TYPE_UINT, pad->index, "level-db", G_TYPE_DOUBLE, pad->level_db,
                          "peak-db", G_TYPE_DOUBLE, pad->peak_db, "running-time", G_TYPE_UINT64,
                          (guint64)pad->time, NULL));
}

/* A new measurement of `pad` (lock held): returns the zumzi-speaker message
 * to post when the speaker changes, else NULL. */
static GstMessage* decide_locked(GstZumziSpeaker* self, GstClockTime now)
{
    GstClockTime stale = STALE_INTERVALS * self->interval;
    GstZumziSpeakerPad* loudest = NULL;
    for (GList* l = self->pads; l; l = l->next) {
        GstZumziSpeakerPad* p = l->data;
        if (!p->measured || p->level_db < self->threshold)
            continue;
        if (now > p->time && now - p->time > stale)
            continue;
        if (!loudest || p->level_db > loudest->level_db)
            loudest = p;
    }
    if (!loudest || loudest == self->current) {
        /* silence keeps the speaker; the speaker loudest again cancels a switch */
        self->pending = NULL;
        return NULL;
    }
    if (loudest != self->pending) {
        self->pending = loudest;
        self->pending_since = now;
    }
    if (now < self->pending_since || now - self->pending_since < self->hold_time)
        return NULL;

    GstZumziSpeakerPad* previous = self->current;
    self->current = loudest;
    self->pending = NULL;
    GST_INFO_OBJECT(self, "speaker: %s (%.1f dB) at %" GST_TIME_FORMAT, GST_PAD_NAME(loudest),
                    loudest->level_db, GST_TIME_ARGS(now));
    return gst_message_new_element(
        GST_OBJECT(self),
        gst_structure_new("zumzi-speaker", "pad", G_TYPE_STRING, GST_PAD_NAME(loudest), "index",
                          G_TYPE_UINT, loudest->index, "level-db", G_TYPE_DOUBLE, loudest->level_db,
                          "peak-db", G_TYPE_DOUBLE, loudest->peak_db, "running-time", G_TYPE_UINT64,
                          (guint64)now, "previous", G_TYPE_STRING,
                          previous ? GST_PAD_NAME(previous) : "", NULL));
}

static gboolean handle_level(GstZumziSpeaker* self, GstMessage* message)
{
    const GstStructure* s = gst_message_get_structure(message);
    GstMessage* to_post[2] = {NULL, NULL};
    guint64 running_time = 0, duration = 0;
    gdouble rms, peak;

    if (!max_of_channels(s, "rms", &rms) || !max_of_channels(s, "peak", &peak))
        return FALSE;
    if (!gst_structure_get_uint64(s, "running-time", &running_time))
        return FALSE;
    gst_structure_get_uint64(s, "duration", &duration);

    g_mutex_lock(&self->lock);
    GstZumziSpeakerPad* pad = NULL;
    for (GList* l = self->pads; l; l = l->next) {
        GstZumziSpeakerPad* p = l->data;
        if (GST_MESSAGE_SRC(message) == GST_OBJECT(p->level))
            pad = p;
    }
    if (pad) {
        pad->measured = TRUE;
        pad->level_db = rms;
        pad->peak_db = peak;
        pad->time = running_time + duration;
        if (self->post_levels)
            to_post[0] = level_message(self, pad);
        to_post[1] = decide_locked(self, pad->time);
    }
    g_mutex_unlock(&self->lock);

    for (guint i = 0; i < G_N_ELEMENTS(to_post); i++)
        if (to_post[i])
            gst_element_post_message(GST_ELEMENT(self), to_post[i]);
    return TRUE;
}

static void gst_zumzi_speaker_handle_message(GstBin* bin, GstMessage* message)
{
    GstZumziSpeaker* self = GST_ZUMZI_SPEAKER(bin);
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ELEMENT &&
        gst_message_has_name(message, "level") && handle_level(self, message)) {
        /* the level elements are internal: their messages stay here */
        gst_message_unref(message);
        return;
    }
    GST_BIN_CLASS(parent_class)->handle_message(bin, message);
}

static GstStateChangeReturn gst_zumzi_speaker_change_state(GstElement* element,
                                                           GstStateChange transition)
{
    GstZumziSpeaker* self = GST_ZUMZI_SPEAKER(element);
    GstStateChangeReturn ret = GST_ELEMENT_CLASS(parent_class)->change_state(element, transition);
    if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
        g_mutex_lock(&self->lock);
        self->current = NULL;
        self->pending = NULL;
        for (GList* l = self->pads; l; l = l->next)
            ((GstZumziSpeakerPad*)l->data)->measured = FALSE;
        g_mutex_unlock(&self->lock);
    }
    return ret;
}

static void gst_zumzi_speaker_set_property(GObject* object, guint prop_id, const GValue* value,
                                           GParamSpec* pspec)
{
    GstZumziSpeaker* self = GST_ZUMZI_SPEAKER(object);
    g_mutex_lock(&self->lock);
    switch (prop_id) {
        case PROP_THRESHOLD:
            self->threshold = g_value_get_double(value);
            break;
        case PROP_HOLD_TIME:
            self->hold_time = g_value_get_uint64(value);
            break;
        case PROP_INTERVAL:
            self->interval = g_value_get_uint64(value);
            for (GList* l = self->pads; l; l = l->next)
                g_object_set(((GstZumziSpeakerPad*)l->data)->level, "interval",
                             (guint64)self->interval, NULL);
            break;
        case PROP_POST_LEVELS:
            self->post_levels = g_value_get_boolean(value);
            break;
        default:
            G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
            break;
    }
    g_mutex_unlock(&self->lock);
}

static void gst_zumzi_speaker_get_property(GObject* object, guint prop_id, GValue* value,
                                           GParamSpec* pspec)
{
    GstZumziSpeaker* self = GST_ZUMZI_SPEAKER(object);
    g_mutex_lock(&self->lock);
    switch (prop_id) {
        case PROP_THRESHOLD:
            g_value_set_double(value, self->threshold);
            break;
        case PROP_HOLD_TIME:
            g_value_set_uint64(value, self->hold_time);
            break;
        case PROP_INTERVAL:
            g_value_set_uint64(value, self->interval);
            break;
        case PROP_POST_LEVELS:
            g_value_set_boolean(value, self->post_levels);
            break;
        case PROP_SPEAKER:
            g_value_set_string(value, self->current ? GST_PAD_NAME(self->current) : NULL);
            break;
        default:
            G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
            break;
    }
    g_mutex_unlock(&self->lock);
}

/* Releases the streams while their level elements still exist. */
static void gst_zumzi_speaker_dispose(GObject* object)
{
    GstZumziSpeaker* self = GST_ZUMZI_SPEAKER(object);
    for (;;) {
        g_mutex_lock(&self->lock);
        GstPad* pad = self->pads ? gst_object_ref(self->pads->data) : NULL;
        g_mutex_unlock(&self->lock);
        if (!pad)
            break;
        gst_element_release_request_pad(GST_ELEMENT(self), pad);
        gst_object_unref(pad);
    }
    G_OBJECT_CLASS(parent_class)->dispose(object);
}

static void gst_zumzi_speaker_finalize(GObject* object)
{
    GstZumziSpeaker* self = GST_ZUMZI_SPEAKER(object);
    g_list_free(self->pads);
    g_mutex_clear(&self->lock);
    G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_zumzi_speaker_class_init(GstZumziSpeakerClass* klass)
{
    GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
    GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
    GstBinClass* bin_class = GST_BIN_CLASS(klass);

    gobject_class->set_property = gst_zumzi_speaker_set_property;
    gobject_class->get_property = gst_zumzi_speaker_get_property;
    gobject_class->dispose = gst_zumzi_speaker_dispose;
    gobject_class->finalize = gst_zumzi_speaker_finalize;

    g_object_class_install_property(
        gobject_class, PROP_THRESHOLD,
        g_param_spec_double(
            "threshold", "Threshold", "RMS level (dBFS) a stream must reach to become the speaker",
            -200.0, 0.0, DEFAULT_THRESHOLD,
            G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS));
    g_object_class_install_property(
        gobject_class, PROP_HOLD_TIME,
        g_param_spec_uint64(
            "hold-time", "Hold time",
            "How long (ns of running time) a stream must stay the loudest "
            "before it becomes the speaker",
            0, G_MAXUINT64, DEFAULT_HOLD_TIME,
            G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS));
    g_object_class_install_property(
        gobject_class, PROP_INTERVAL,
        g_param_spec_uint64(
            "interval", "Interval", "Measurement period (ns): levels are compared this often",
            GST_MSECOND, G_MAXUINT64, DEFAULT_INTERVAL,
            G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS));
    g_object_class_install_property(
        gobject_class, PROP_POST_LEVELS,
        g_param_spec_boolean(
            "post-levels", "Post levels",
            "Also post a zumzi-level message for every measurement of every "
            "stream",
            DEFAULT_POST_LEVELS,
            G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING | G_PARAM_STATIC_STRINGS));
    g_object_class_install_property(
        gobject_class, PROP_SPEAKER,
        g_param_spec_string("speaker", "Speaker",
                            "The sink pad of the current speaker (NULL before the first)", NULL,
                            G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

    gst_element_class_add_pad_template(element_class,
                                       gst_pad_template_new_from_static_pad_template_with_gtype(
                                           &sink_template, GST_TYPE_ZUMZI_SPEAKER_PAD));
    gst_element_class_add_static_pad_template(element_class, &src_template);

    gst_element_class_set_static_metadata(
        element_class, "Zumzi active speaker", "Filter/Analyzer/Audio",
        "Passes audio streams through and posts zumzi-speaker messages naming the loudest one "
        "once it has held for hold-time",
        "Zumzi");

    element_class->request_new_pad = GST_DEBUG_FUNCPTR(gst_zumzi_speaker_request_new_pad);
    element_class->release_pad = GST_DEBUG_FUNCPTR(gst_zumzi_speaker_release_pad);
    element_class->change_state = GST_DEBUG_FUNCPTR(gst_zumzi_speaker_change_state);
    bin_class->handle_message = GST_DEBUG_FUNCPTR(gst_zumzi_speaker_handle_message);

    gst_type_mark_as_plugin_api(GST_TYPE_ZUMZI_SPEAKER_PAD, 0);

    GST_DEBUG_CATEGORY_INIT(gst_zumzi_speaker_debug, "zumzispeaker", 0, "Zumzi active speaker");
}

static void gst_zumzi_speaker_init(GstZumziSpeaker* self)
{
    g_mutex_init(&self->lock);
    self->threshold = DEFAULT_THRESHOLD;
    self->hold_time = DEFAULT_HOLD_TIME;
    self->interval = DEFAULT_INTERVAL;
    self->post_levels = DEFAULT_POST_LEVELS;
    self->pending_since = GST_CLOCK_TIME_NONE;
}
