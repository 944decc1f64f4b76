#ifndef LUNET_VERSION_H
#define LUNET_VERSION_H
#define LUNET_VERSION "0.1.0"
#endif
