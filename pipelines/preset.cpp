#include "preset.h"

#include <glib.h>

#include <string>

namespace zumzi {

const std::vector<Preset>& all_presets()
{
    static const std::vector<Preset> presets = {
        {"default", 640, 360, 30, 600},
        {"qvga", 320, 240, 30, 250},
        {"vga", 640, 480, 30, 800},
        {"hd", 1280, 720, 30, 2000},
        {"fhd", 1920, 1080, 30, 4000},
        {"4k", 3840, 2160, 30, 12000},
    };
    return presets;
}

const Preset* find_preset(std::string_view name)
{
    std::string lower(name);
    for (char& c : lower)
        c = g_ascii_tolower(c);
    for (const Preset& p : all_presets())
        if (p.name == lower)
            return &p;
    return nullptr;
}

}  // namespace zumzi
