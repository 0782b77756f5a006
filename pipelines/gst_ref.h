// Small RAII holders for GObject/GStreamer references. Members use these so
// that no code path has to remember an unref.
#pragma once

#include <gst/gst.h>

#include <memory>

namespace zumzi::media {

struct GstObjectUnref {
    void operator()(gpointer p) const
    {
        if (p)
            gst_object_unref(p);
    }
};

// Owns one reference to a GstObject subclass.
template <typename T>
using GstPtr = std::unique_ptr<T, GstObjectUnref>;

// Takes an extra reference on `p` and returns a copyable owner: for the
// std::function closures posted to the main context.
template <typename T>
std::shared_ptr<T> shared_ref(T* p)
{
    if (p)
        gst_object_ref(p);
    return std::shared_ptr<T>(p, GstObjectUnref{});
}

// Adopts a reference the caller already owns (transfer full).
template <typename T>
std::shared_ptr<T> shared_adopt(T* p)
{
    return std::shared_ptr<T>(p, GstObjectUnref{});
}

struct GstCapsUnref {
    void operator()(GstCaps* c) const
    {
        if (c)
            gst_caps_unref(c);
    }
};
using CapsPtr = std::unique_ptr<GstCaps, GstCapsUnref>;

}  // namespace zumzi::media
