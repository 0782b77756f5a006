// Resolution presets of a room: the size and frame rate its media is
// captured, composited and encoded at. Pure data, shared by the control
// server (validation, API) and the media engine (caps, encoder bitrates).
#pragma once

#include <string_view>
#include <vector>

namespace zumzi {

struct Preset {
    std::string_view name;  // stable lower-case id used in the API and store
    int width;
    int height;
    int framerate;
    int video_kbps;  // target encoder bitrate for a single stream
};

// All presets, in increasing size; "default" first.
const std::vector<Preset>& all_presets();

// The preset called `name` (case-insensitive), or nullptr.
const Preset* find_preset(std::string_view name);

}  // namespace zumzi
