// zumzimixer's layout geometry as a pure function, and the plugin's presets
// against the room presets of the media engine.
#include <string>
#include <vector>

#include "gstzumzilayout.h"
#include "gstzumzipreset.h"
#include "preset.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

namespace {

std::vector<GstZumziCell> compute(GstZumziLayout layout, int w, int h, unsigned n,
                                  unsigned speaker = 0)
{
    std::vector<GstZumziCell> cells(n);
    gst_zumzi_layout_compute(layout, w, h, n, speaker, cells.data());
    return cells;
}

bool overlaps(const GstZumziCell& a, const GstZumziCell& b)
{
    return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height &&
           b.y < a.y + a.height;
}

// Every cell inside the frame, even-aligned, non-empty.
void check_sane(const std::vector<GstZumziCell>& cells, int w, int h)
{
    for (const GstZumziCell& c : cells) {
        CHECK(c.width >= 2 && c.height >= 2);
        CHECK(c.x >= 0 && c.y >= 0);
        CHECK(c.x + c.width <= w);
        CHECK(c.y + c.height <= h);
        CHECK_EQUAL(0, c.x % 2);
        CHECK_EQUAL(0, c.y % 2);
        CHECK_EQUAL(0, c.width % 2);
        CHECK_EQUAL(0, c.height % 2);
    }
}

}  // namespace

TEST_GROUP(Layout){};

TEST(Layout, GridSizeFollowsTheNumberOfInputs)
{
    const unsigned expected[] = {1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 5};
    for (unsigned n = 0; n < sizeof expected / sizeof expected[0]; n++)
        CHECK_EQUAL(expected[n], gst_zumzi_layout_grid_size(n));
}

TEST(Layout, GridOfOneFillsTheFrame)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_GRID, 1280, 720, 1);
    CHECK_EQUAL(0, cells[0].x);
    CHECK_EQUAL(0, cells[0].y);
    CHECK_EQUAL(1280, cells[0].width);
    CHECK_EQUAL(720, cells[0].height);
    CHECK_TRUE(cells[0].visible);
}

TEST(Layout, GridOfFourIsTwoByTwo)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_GRID, 1280, 720, 4);
    check_sane(cells, 1280, 720);
    const int xs[] = {0, 640, 0, 640};
    const int ys[] = {0, 0, 360, 360};
    for (int i = 0; i < 4; i++) {
        CHECK_EQUAL(xs[i], cells[i].x);
        CHECK_EQUAL(ys[i], cells[i].y);
        CHECK_EQUAL(640, cells[i].width);
        CHECK_EQUAL(360, cells[i].height);
    }
}

TEST(Layout, GridOfTwoIsOneCentredRowOfTheTwoByTwoCells)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_GRID, 1280, 720, 2);
    CHECK_EQUAL(0, cells[0].x);
    CHECK_EQUAL(640, cells[1].x);
    CHECK_EQUAL(180, cells[0].y);
    CHECK_EQUAL(180, cells[1].y);
    CHECK_EQUAL(640, cells[0].width);
    CHECK_EQUAL(360, cells[0].height);
}

TEST(Layout, GridOfThreeCentresTheLastRow)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_GRID, 1280, 720, 3);
    CHECK_EQUAL(0, cells[0].y);
    CHECK_EQUAL(0, cells[1].y);
    CHECK_EQUAL(360, cells[2].y);
    CHECK_EQUAL(320, cells[2].x);
}

TEST(Layout, GridsUpToSixteenNeverOverlapAndKeepTheFrameAspect)
{
    for (unsigned n = 1; n <= 16; n++) {
        auto cells = compute(GST_ZUMZI_LAYOUT_GRID, 1920, 1080, n);
        check_sane(cells, 1920, 1080);
        unsigned k = gst_zumzi_layout_grid_size(n);
        for (unsigned i = 0; i < n; i++) {
            CHECK_EQUAL(int(1920 / k) & ~1, cells[i].width);
            CHECK_EQUAL(int(1080 / k) & ~1, cells[i].height);
            for (unsigned j = i + 1; j < n; j++)
                CHECK_FALSE(overlaps(cells[i], cells[j]));
        }
    }
}

TEST(Layout, NineInputsAreThreeByThree)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_GRID, 1920, 1080, 9);
    CHECK_EQUAL(640, cells[8].width);
    CHECK_EQUAL(360, cells[8].height);
    CHECK_EQUAL(1280, cells[8].x);
    CHECK_EQUAL(720, cells[8].y);
}

TEST(Layout, SpeakerIsLargeAndTheOthersInAStripBelow)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_SPEAKER, 1280, 720, 4, 2);
    check_sane(cells, 1280, 720);
    const GstZumziCell& speaker = cells[2];
    CHECK_EQUAL(0, speaker.x);
    CHECK_EQUAL(0, speaker.y);
    CHECK_EQUAL(1280, speaker.width);
    CHECK_EQUAL(720 - 144, speaker.height);
    for (unsigned i : {0u, 1u, 3u}) {
        CHECK_TRUE(cells[i].visible);
        CHECK(cells[i].y >= speaker.height);
        CHECK(cells[i].width * cells[i].height < speaker.width * speaker.height / 4);
        CHECK_FALSE(overlaps(cells[i], speaker));
    }
    // the strip keeps pad order, left to right
    CHECK(cells[0].x < cells[1].x);
    CHECK(cells[1].x < cells[3].x);
    CHECK_FALSE(overlaps(cells[0], cells[1]));
    CHECK_FALSE(overlaps(cells[1], cells[3]));
}

TEST(Layout, SpeakerAloneFillsTheFrame)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_SPEAKER, 640, 360, 1);
    CHECK_EQUAL(640, cells[0].width);
    CHECK_EQUAL(360, cells[0].height);
}

TEST(Layout, ManyThumbnailsShrinkToFitTheStrip)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_SPEAKER, 1280, 720, 12, 0);
    check_sane(cells, 1280, 720);
    for (unsigned i = 1; i < 12; i++)
        for (unsigned j = i + 1; j < 12; j++)
            CHECK_FALSE(overlaps(cells[i], cells[j]));
}

TEST(Layout, UnknownSpeakerMeansTheFirstInput)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_SPEAKER, 1280, 720, 3, 7);
    CHECK_EQUAL(1280, cells[0].width);
}

TEST(Layout, PipShowsTheSpeakerFullAndOneInsetAboveIt)
{
    auto cells = compute(GST_ZUMZI_LAYOUT_PIP, 1280, 720, 3, 1);
    check_sane(cells, 1280, 720);
    const GstZumziCell& speaker = cells[1];
    CHECK_EQUAL(1280, speaker.width);
    CHECK_EQUAL(720, speaker.height);
    CHECK_TRUE(speaker.visible);
    // the first other input is the inset, bottom right, above the speaker
    const GstZumziCell& inset = cells[0];
    CHECK_TRUE(inset.visible);
    CHECK_EQUAL(320, inset.width);
    CHECK_EQUAL(180, inset.height);
    CHECK(inset.x > 640 && inset.y > 360);
    CHECK(inset.zorder > speaker.zorder);
    // any further input is not shown
    CHECK_FALSE(cells[2].visible);
}

TEST(Layout, OddSizesStayEvenAndInside)
{
    for (GstZumziLayout l : {GST_ZUMZI_LAYOUT_GRID, GST_ZUMZI_LAYOUT_SPEAKER, GST_ZUMZI_LAYOUT_PIP})
        for (unsigned n = 1; n <= 10; n++)
            check_sane(compute(l, 642, 362, n, n / 2), 642, 362);
}

TEST(Layout, PresetsAreTheRoomPresets)
{
    const auto& room = zumzi::all_presets();
    CHECK_EQUAL(room.size(), gst_zumzi_preset_count());
    for (unsigned i = 0; i < room.size(); i++) {
        const GstZumziPresetInfo* p = gst_zumzi_preset_nth(i);
        STRCMP_EQUAL(std::string(room[i].name).c_str(), p->name);
        CHECK_EQUAL(room[i].width, p->width);
        CHECK_EQUAL(room[i].height, p->height);
        CHECK_EQUAL(room[i].framerate, p->framerate);
        CHECK_EQUAL(unsigned(room[i].video_kbps), p->video_kbps);
        // the enum nick is the same name
        GEnumClass* klass = G_ENUM_CLASS(g_type_class_ref(GST_TYPE_ZUMZI_PRESET));
        GEnumValue* v = g_enum_get_value(klass, p->preset);
        STRCMP_EQUAL(p->name, v->value_nick);
        g_type_class_unref(klass);
    }
}

TEST(Layout, BitrateFollowsTheNearestPreset)
{
    CHECK_EQUAL(2000u, gst_zumzi_preset_kbps_for(1280, 720, 30));
    CHECK_EQUAL(4000u, gst_zumzi_preset_kbps_for(1920, 1080, 30));
    CHECK_EQUAL(2000u, gst_zumzi_preset_kbps_for(1920, 1080, 15));
    CHECK_EQUAL(250u, gst_zumzi_preset_kbps_for(320, 240, 30));
}
