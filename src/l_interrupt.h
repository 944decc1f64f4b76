/* l_interrupt.h -- running Lua code that Ctrl-C (SIGINT), SIGTERM or SIGHUP can stop.
 *
 * While lb_pcall_interruptible runs, a signal sets a Lua hook that raises the
 * error "interrupted" (or "terminated") at the next Lua instruction, as the
 * lua program does; the error carries a traceback. A C kernel already running
 * finishes first. Used by the script runner (main.c) and the REPL (l_repl.c).
 */
#ifndef LUNET_L_INTERRUPT_H
#define LUNET_L_INTERRUPT_H

#include <lua.h>

/* lua_pcall of the function below nargs arguments, with a traceback on error.
   stay_alive = 0: a second signal during the call kills the process (a script);
   1: every signal just interrupts (the REPL must survive). */
int lb_pcall_interruptible(lua_State *L, int nargs, int nres, int stay_alive);

/* the signal that stopped code since the last lb_clear_interrupt (0: none) */
int lb_interrupt_signal(void);
void lb_clear_interrupt(void);

#endif
