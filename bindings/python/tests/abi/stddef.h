/* Empty stand-in: cffi knows size_t and the <stdint.h> types itself (test_abi.py). */
