// Still images through GStreamer: a square, centre-cropped JPEG thumbnail of
// an encoded image (JPEG, PNG, anything decodebin knows), and the size of an
// encoded image. Synchronous: each call builds, runs and tears down a short
// pipeline (appsrc ! decodebin ! videoconvert ! aspectratiocrop !
// videoscale ! jpegenc ! appsink). Any thread.
#pragma once

#include <string>

namespace zumzi::media {

struct ImageSize {
    int width = 0;
    int height = 0;
};

// Pictures larger than this on either side are refused before anything is
// allocated for them (a small file can claim a huge size).
constexpr int kMaxImageSide = 16384;

// A `side` x `side` JPEG of the centre square of `image`, scaled, and the
// size of the decoded picture in `source` (one decode for both). Returns
// false with `error` set when `image` cannot be decoded as a picture.
bool make_thumbnail(const std::string& image, int side, std::string& jpeg, ImageSize& source,
                    std::string& error);

// The dimensions of the first picture of `image`; false when it cannot be
// decoded.
bool image_size(const std::string& image, ImageSize& size, std::string& error);

}  // namespace zumzi::media
