// The REST resources, one file each under server/api/.
#pragma once

#include "../router.h"

namespace zumzi {

void add_health_routes(Router& router);         // health.cpp
void add_login_routes(Router& router);          // login.cpp: login, logout
void add_profile_routes(Router& router);        // profile.cpp
void add_rooms_routes(Router& router);          // rooms.cpp: rooms, join, members
void add_admin_routes(Router& router);          // admin.cpp: server-to-server, API key
void add_whip_routes(Router& router);           // whip.cpp: WHIP ingest, WHEP playback
void add_conversations_routes(Router& router);  // conversations.cpp: recent, history
void add_messages_routes(Router& router);       // messages.cpp: delete for everyone
void add_groups_routes(Router& router);         // groups.cpp: groups and their members
void add_contacts_routes(Router& router);       // contacts.cpp: contacts, sync, blocks
void add_files_routes(Router& router);          // files.cpp: uploads, downloads, profile photo
void add_live_routes(Router& router);           // live.cpp: HLS, RTMP, recording outputs, layout
void add_recordings_routes(Router& router);     // recordings.cpp: list, download, delete
void add_hls_routes(Router& router);            // hls.cpp: /live/{room}/... files

inline void add_all_routes(Router& router)
{
    add_health_routes(router);
    add_login_routes(router);
    add_profile_routes(router);
    add_rooms_routes(router);
    add_admin_routes(router);
    add_whip_routes(router);
    add_conversations_routes(router);
    add_messages_routes(router);
    add_groups_routes(router);
    add_contacts_routes(router);
    add_files_routes(router);
    add_live_routes(router);
    add_recordings_routes(router);
    add_hls_routes(router);
}

}  // namespace zumzi
