#version 330 core
// Vertex stage of the face shader: world-space position and normal, and the vertex colour.
// Attribute locations come from pyrender's defines (NORMAL_LOC, COLOR_0_LOC, INST_M_LOC).

layout(location = 0) in vec3 position;
#ifdef NORMAL_LOC
layout(location = NORMAL_LOC) in vec3 normal;
#endif
#ifdef COLOR_0_LOC
layout(location = COLOR_0_LOC) in vec4 color_0;
#endif
layout(location = INST_M_LOC) in mat4 inst_m;

uniform mat4 M;
uniform mat4 V;
uniform mat4 P;

out vec3 frag_position;
#ifdef NORMAL_LOC
out vec3 frag_normal;
#endif
#ifdef COLOR_0_LOC
out vec4 color_multiplier;
#endif

void main()
{
    mat4 model = M * inst_m;
    vec4 world = model * vec4(position, 1.0);
    gl_Position = P * V * world;
    frag_position = world.xyz;
#ifdef NORMAL_LOC
    frag_normal = normalize(transpose(inverse(mat3(model))) * normal);
#endif
#ifdef COLOR_0_LOC
    color_multiplier = color_0;
#endif
}
