#version 330 core
// The face shader lights each vertex and lets the rasteriser interpolate the colour (Gouraud
// shading). The lighting model is pyrender's metallic-roughness one (GGX, Smith-Schlick,
// Fresnel-Schlick), written out for what the face scene uses: dielectric materials with at most a
// base colour texture, vertex colours and directional lights without shadows. The diffuse light
// and the highlight leave separately: the pixel stage multiplies only the diffuse by the texture.
// On llvmpipe, shading every pixel
// was most of a frame's cost; the head has 2,694 vertices against ~100,000 face pixels at
// 512 px, and its broad skin highlights look the same when lit per vertex.
// Attribute locations come from pyrender's defines (NORMAL_LOC, COLOR_0_LOC, INST_M_LOC); SPECULAR
// from the renderer's.

layout(location = 0) in vec3 position;
#ifdef NORMAL_LOC
layout(location = NORMAL_LOC) in vec3 normal;
#endif
#ifdef COLOR_0_LOC
layout(location = COLOR_0_LOC) in vec4 color_0;
#endif
#ifdef TEXCOORD_0_LOC
layout(location = TEXCOORD_0_LOC) in vec2 texcoord_0;
#endif
layout(location = INST_M_LOC) in mat4 inst_m;

struct DirectionalLight {
    vec3 color;
    float intensity;
    vec3 direction;
};
struct Material {
    vec4 base_color_factor;
    float roughness_factor;
#ifdef HAS_BASE_COLOR_TEX
    sampler2D base_color_texture;  // read in mesh.frag; declared alike in both stages
#endif
};

uniform mat4 M;
uniform mat4 V;
uniform mat4 P;
uniform Material material;
uniform DirectionalLight directional_lights[MAX_DIRECTIONAL_LIGHTS];
uniform int n_directional_lights;
uniform vec3 cam_pos;
uniform vec3 ambient_light;

out vec4 linear_color;  // diffuse and ambient light times the base colour (and vertex colour)
out vec3 linear_specular;
#ifdef HAS_BASE_COLOR_TEX
out vec2 uv_0;
#endif

const float PI = 3.141592653589793;
const float F0 = 0.04;  // reflectance of a dielectric at normal incidence

void main()
{
    mat4 model = M * inst_m;
    vec4 world = model * vec4(position, 1.0);
    gl_Position = P * V * world;

    vec3 base = material.base_color_factor.rgb;
    vec3 to_camera = normalize(cam_pos - world.xyz);
#ifdef NORMAL_LOC
    vec3 n = normalize(transpose(inverse(mat3(model))) * normal);
#else
    vec3 n = to_camera;  // meshes without normals face the camera
#endif
    float roughness = clamp(material.roughness_factor, F0, 1.0);
    float a2 = roughness * roughness * roughness * roughness;
    float k = (roughness + 1.0) * (roughness + 1.0) / 8.0;
    float nv = clamp(abs(dot(n, to_camera)), 0.001, 1.0);
    float shadowing_view = nv / (nv * (1.0 - k) + k);
    vec3 diffuse = base * (1.0 - F0) / PI;

    vec3 color = base * ambient_light;
    vec3 highlight = vec3(0.0);
    for (int i = 0; i < n_directional_lights; i++) {
        vec3 l = -directional_lights[i].direction;
        vec3 h = normalize(l + to_camera);
        float nl = clamp(dot(n, l), 0.001, 1.0);
        float nh = clamp(dot(n, h), 0.0, 1.0);
        float m = 1.0 - clamp(dot(to_camera, h), 0.0, 1.0);
        float fresnel = F0 + (1.0 - F0) * m * m * m * m * m;
        float shadowing = shadowing_view * nl / (nl * (1.0 - k) + k);
        float d = nh * nh * (a2 - 1.0) + 1.0;
        float specular = fresnel * shadowing * a2 / (PI * d * d) / (4.0 * nl * nv + 0.001);
        vec3 radiance = directional_lights[i].intensity * directional_lights[i].color;
        color += nl * radiance * (1.0 - fresnel) * diffuse;
        highlight += nl * radiance * specular * SPECULAR;  // face/look.py: highlights not brightened with the lights
    }
    float alpha = material.base_color_factor.a;
#ifdef COLOR_0_LOC
    color *= color_0.rgb;  // the vertex colour tints the diffuse colour, as glTF's COLOR_0 does
    alpha *= color_0.a;
#endif
#ifdef HAS_BASE_COLOR_TEX
    uv_0 = texcoord_0;
#endif
    linear_color = vec4(color, alpha);
    linear_specular = highlight;
}
