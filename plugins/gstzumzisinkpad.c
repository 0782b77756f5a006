#include "gstzumzisinkpad.h"

typedef struct {
    gint releasing;
} GstZumziSinkPadPrivate;

G_DEFINE_TYPE_WITH_PRIVATE(GstZumziSinkPad, gst_zumzi_sink_pad, GST_TYPE_GHOST_PAD)

static gboolean is_releasing(GstPad* pad)
{
    GstZumziSinkPadPrivate* priv = gst_zumzi_sink_pad_get_instance_private(GST_ZUMZI_SINK_PAD(pad));
    return g_atomic_int_get(&priv->releasing) != 0;
}

static GstFlowReturn gst_zumzi_sink_pad_chain(GstPad* pad, GstObject* parent, GstBuffer* buffer)
{
    if (is_releasing(pad)) {
        gst_buffer_unref(buffer);
        return GST_FLOW_OK;
    }
    GstFlowReturn ret = gst_proxy_pad_chain_default(pad, parent, buffer);
    /* the push that was waiting in the aggregator when the branch went away */
    if ((ret == GST_FLOW_FLUSHING || ret == GST_FLOW_NOT_LINKED) && is_releasing(pad))
        ret = GST_FLOW_OK;
    return ret;
}

static GstFlowReturn gst_zumzi_sink_pad_chain_list(GstPad* pad, GstObject* parent,
                                                   GstBufferList* list)
{
    if (is_releasing(pad)) {
        gst_buffer_list_unref(list);
        return GST_FLOW_OK;
    }
    GstFlowReturn ret = gst_proxy_pad_chain_list_default(pad, parent, list);
    if ((ret == GST_FLOW_FLUSHING || ret == GST_FLOW_NOT_LINKED) && is_releasing(pad))
        ret = GST_FLOW_OK;
    return ret;
}

static gboolean gst_zumzi_sink_pad_event(GstPad* pad, GstObject* parent, GstEvent* event)
{
    if (is_releasing(pad)) {
        gst_event_unref(event);
        return TRUE;
    }
    return gst_pad_event_default(pad, parent, event);
}

static void gst_zumzi_sink_pad_constructed(GObject* object)
{
    G_OBJECT_CLASS(gst_zumzi_sink_pad_parent_class)->constructed(object);
    GstPad* pad = GST_PAD(object);
    gst_pad_set_chain_function(pad, gst_zumzi_sink_pad_chain);
    gst_pad_set_chain_list_function(pad, gst_zumzi_sink_pad_chain_list);
    gst_pad_set_event_function(pad, gst_zumzi_sink_pad_event);
}

static void gst_zumzi_sink_pad_class_init(GstZumziSinkPadClass* klass)
{
    G_OBJECT_CLASS(klass)->constructed = gst_zumzi_sink_pad_constructed;
}

static void gst_zumzi_sink_pad_init(GstZumziSinkPad* pad)
{
    (void)pad;
}

void gst_zumzi_sink_pad_begin_release(GstZumziSinkPad* pad)
{
    GstZumziSinkPadPrivate* priv = gst_zumzi_sink_pad_get_instance_private(pad);
    g_atomic_int_set(&priv->releasing, 1);
}

static GstPadProbeReturn drop_all(GstPad* pad, GstPadProbeInfo* info, gpointer user_data)
{
    (void)pad;
    (void)info;
    (void)user_data;
    return GST_PAD_PROBE_DROP;
}

gulong gst_zumzi_sink_pad_drop_at(GstPad* srcpad)
{
    return gst_pad_add_probe(srcpad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM, drop_all, NULL, NULL);
}

void gst_zumzi_sink_pad_remove_branch(GstZumziSinkPad* pad, GstBin* bin, GstElement** elements)
{
    GstPad* peer = gst_pad_get_peer(GST_PAD(pad));
    if (peer) {
        gst_pad_unlink(peer, GST_PAD(pad));
        gst_object_unref(peer);
    }
    for (GstElement** e = elements; *e; e++) {
        gst_element_set_locked_state(*e, TRUE);
        gst_element_set_state(*e, GST_STATE_NULL);
        gst_bin_remove(bin, *e);
    }
    gst_pad_set_active(GST_PAD(pad), FALSE);
    gst_element_remove_pad(GST_ELEMENT(bin), GST_PAD(pad));
}
