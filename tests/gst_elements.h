// Shared by the suites that look inside GStreamer bins (plugin, media and
// integration tests): every element of a bin, however deep, and which
// factory made one. Header-only: GStreamer.
#pragma once

#include <gst/gst.h>

#include <functional>

namespace zumzi_test {

// Calls `visit` with every element anywhere inside `bin`.
inline void for_each_element(GstElement* bin, const std::function<void(GstElement*)>& visit)
{
    GstIterator* it = gst_bin_iterate_recurse(GST_BIN(bin));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        visit(GST_ELEMENT(g_value_get_object(&item)));
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
}

// Whether the factory named `factory` made `element`.
inline bool made_by(GstElement* element, const char* factory)
{
    GstElementFactory* f = gst_element_get_factory(element);
    return f && g_str_equal(GST_OBJECT_NAME(f), factory);
}

// Elements made by `factory` anywhere inside `bin`.
inline int count_made_by(GstElement* bin, const char* factory)
{
    int n = 0;
    for_each_element(bin, [&](GstElement* e) {
        if (made_by(e, factory))
            n++;
    });
    return n;
}

}  // namespace zumzi_test
