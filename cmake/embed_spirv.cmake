# cmake -DSPV=in.spv -DOUT=out.cpp -DIDENT=name -P embed_spirv.cmake
# Writes the SPIR-V words of SPV as a uint32_t array in a C++ source.
file(READ "${SPV}" hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR rem "${nhex} % 8")
if(NOT rem EQUAL 0 OR nhex EQUAL 0)
  message(FATAL_ERROR "${SPV}: not a SPIR-V module (size is not a multiple of 4 bytes)")
endif()
# Bytes are little-endian words: reorder each group of 4 bytes into 0xWWWWWWWW.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," words "${hex}")
string(REGEX REPLACE "((0x........u,){8})" "\\1\n  " words "${words}")
get_filename_component(name "${SPV}" NAME_WE)
get_filename_component(file "${SPV}" NAME)
string(REGEX REPLACE "\\.spv$" "" glsl_name "${file}")
math(EXPR nwords "${nhex} / 8")
file(WRITE "${OUT}.tmp"
"// Generated from ${glsl_name} by cmake/embed_spirv.cmake; do not edit.
#include \"render/shader_registry.h\"
namespace sc::render::detail {
namespace {
const uint32_t kWords[${nwords}] = {
  ${words}
};
}  // namespace
extern const ShaderBlob kShader_${IDENT};
const ShaderBlob kShader_${IDENT} = {\"${glsl_name}\", kWords, ${nwords}};
}  // namespace sc::render::detail
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
