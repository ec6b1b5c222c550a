// lua.c - a real program no one here wrote: the Lua 5.4 interpreter
// (Debian's liblua5.4-dev, static glibc) runs a script that reads and sorts
// lines, writes and rereads a file, formats numbers and handles an error.
// abis: glibc, glibc-dyn
// cflags: -I/usr/include/lua5.4 -Wl,--whole-archive -llua5.4 -Wl,--no-whole-archive -lm
// env: HOME=/home/user
#include "compat.h"
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static const char *script =
    "local t = {}\n"
    "for w in io.lines('/etc/hostname') do t[#t+1] = w end\n"
    "print('hostname lines', #t)\n"
    "local words = {'pear', 'apple', 'fig', 'banana', 'cherry'}\n"
    "table.sort(words)\n"
    "print(table.concat(words, ' '))\n"
    "local name = os.tmpname()\n"
    "local f = assert(io.open(name, 'w'))\n"
    "for i = 1, 5 do f:write(string.format('%d^2 = %d\\n', i, i * i)) end\n"
    "f:close()\n"
    "local sum = 0\n"
    "for l in io.lines(name) do sum = sum + tonumber(l:match('= (%d+)')) end\n"
    "print('sum of squares', sum)\n"
    "print('removed', os.remove(name))\n"
    "print(os.getenv('HOME'), string.rep('ab', 3), math.floor(math.pi * 1000), 2^53 + 1.0)\n"
    "print(io.open('/nonexistent/x'))\n"
    "local ok, e = pcall(error, {code = 42}) print(ok, e.code)\n"
    "local co = coroutine.wrap(function(a) local b = coroutine.yield(a * 2) return a + b end)\n"
    "print(co(10), co(5))\n"
    "print(string.format('%q', 'tab\\tnl\\n'), #string.rep('x', 100000))\n";

int main(void)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    int rc = luaL_dostring(L, script);
    check(rc == LUA_OK, "the script ran%s%s", rc ? ": " : "", rc ? lua_tostring(L, -1) : "");
    lua_close(L);
    return finish();
}
