"""Quantizes a GGUF to Q8_0 with llama.cpp's own quantizer (llama_model_quantize), from the
libllama that node-llama-cpp ships, so tests can compare the project's quantizer with it.

usage: python3 llama-quantize.py <lib dir> <in.gguf> <out.gguf>
"""
import ctypes
import sys

lib_dir, source, target = sys.argv[1:4]
for name in ('libggml-base.so', 'libggml.v0.4.0.so'):
    ctypes.CDLL(f'{lib_dir}/{name}', mode=ctypes.RTLD_GLOBAL)
llama = ctypes.CDLL(f'{lib_dir}/libllama.v0.4.0.so', mode=ctypes.RTLD_GLOBAL)


class Params(ctypes.Structure):
    # llama_model_quantize_params is larger than 16 bytes, so it is returned through a caller
    # buffer: a generous one holds it whatever its exact size. Its first fields are
    # `int32_t nthread; enum llama_ftype ftype;`.
    _fields_ = [('raw', ctypes.c_uint8 * 1024)]


llama.llama_model_quantize_default_params.restype = Params
llama.llama_model_quantize.restype = ctypes.c_uint32
llama.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(Params)]
llama.llama_backend_init()
params = llama.llama_model_quantize_default_params()
head = (ctypes.c_int32 * 2).from_buffer(params.raw)
head[0] = 1  # nthread
head[1] = 7  # LLAMA_FTYPE_MOSTLY_Q8_0
sys.exit(llama.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params)))
